import type { ChangeCapture } from "../capture/ChangeCapture.ts";
import type { SqlClient } from "../capture/in-transaction.ts";
import type { WriterErrorReport } from "../capture/pending-writes.ts";
import type { DataEvent } from "../envelope/DataEvent.ts";
import { AuditError, ConfigError } from "../errors.ts";
import type { Lifecycle } from "../observability/Lifecycle.ts";
import type { KoperLogger } from "../observability/logger.ts";
import { AuditLog } from "./AuditLog.ts";
import { AuditStore, type AuditOptions } from "./AuditStore.ts";

/**
 * Koper's audit wiring: the audit store on the capture (`useAudit`), the query API (`koper.audit`), and
 * the report of failed attempts whose audit rows could not be written (logged, and `audit_failed`).
 */
export class KoperAudit {
  readonly #logger: KoperLogger;
  readonly #lifecycle: Lifecycle;
  #log: AuditLog | undefined;

  constructor(logger: KoperLogger, lifecycle: Lifecycle) {
    this.#logger = logger;
    this.#lifecycle = lifecycle;
  }

  /** The query API, once an adapter turned the audit on. */
  get log(): AuditLog {
    if (!this.#log) throw ConfigError.auditOff();
    return this.#log;
  }

  /** Writes the audited entities' events on `client`'s database in their transaction; the first call also sets `log`. */
  use(capture: ChangeCapture, client: SqlClient, options: AuditOptions = {}): AuditLog {
    capture.use(new AuditStore(options), client);
    return (this.#log ??= new AuditLog(client, options));
  }

  /** The capture's `onWriterError`: a typed AuditError, logged and emitted as the `audit_failed` lifecycle event. */
  readonly reportWriteError: WriterErrorReport = (cause: unknown, events: readonly DataEvent[]) => {
    const ids = events.map((event) => event.id);
    const error = AuditError.failedAttemptsNotWritten(ids, cause);
    this.#logger.error(`[koper] ${error.message}`, { error, ids });
    this.#lifecycle.emit("audit_failed", "producer", { ids, entities: [...new Set(events.map((event) => event.entity))], error });
  };
}
