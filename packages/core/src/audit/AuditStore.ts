import type { DataEvent } from "../envelope/DataEvent.ts";
import { keyText, placeholders, toJson } from "./encode.ts";
import type { ReferenceRule } from "./forget.ts";
import { AUDIT_TABLE, quoteTable } from "./schema.ts";
import type { InTransactionWriter, SqlClient, TxExecutor } from "../capture/in-transaction.ts";

/** Which entities the audit keeps, and where. */
export interface AuditStoreOptions {
  /** Audited entities, by name or by class (its name); all when omitted. */
  entities?: readonly (string | { name: string })[] | undefined;
  /** Table name, optionally schema-qualified; `koper_audit` by default. */
  table?: string | undefined;
}

const COLUMNS = [
  "event_id", "entity", "entity_key", "key_data", "action", "outcome", "actor", "request_id", "context",
  "tx_id", "tx_position", "occurred_at", "committed_at", "time_points", "before_data", "after_data",
  "changed", "bulk", "error", "source",
] as const;

/** The `audit` option of the adapters (`audit: true` is `{}`): which entities, which table, erasure references. */
export interface AuditOptions extends AuditStoreOptions {
  /** Copies of an entity's personal fields in other entities' rows, for `koper.audit.forget` (see AuditLogOptions). */
  references?: Record<string, readonly ReferenceRule[]> | undefined;
}

/** Rows per INSERT statement: keeps parameter counts well under every driver's limit. */
const ROWS_PER_STATEMENT = 50;

/**
 * Writes data events as audit rows: in the committing transaction (`write`), or after a rollback for
 * failed attempts (`writeFailed`). Events arrive already redacted by the capture, so a masked field is
 * masked here too. This is the audit's InTransactionWriter: it never takes over publishing.
 */
export class AuditStore implements InTransactionWriter {
  readonly takesOverPublishing = false;
  readonly table: string;
  readonly #audited: (entity: string) => boolean;

  constructor(options: AuditStoreOptions = {}) {
    this.table = options.table ?? AUDIT_TABLE;
    const names = options.entities && new Set(options.entities.map((e) => (typeof e === "string" ? e : e.name)));
    this.#audited = names ? (entity) => names.has(entity) : () => true;
  }

  /** Writes the audited ones of a committing transaction's events through `tx` (before COMMIT). */
  async write(events: readonly DataEvent[], tx: TxExecutor): Promise<void> {
    const rows = events.filter((event) => this.#audited(event.entity)).map(auditRow);
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await this.#insert(rows.slice(i, i + ROWS_PER_STATEMENT), tx);
    }
  }

  /** Writes failure events (outcome `failed`) after their transaction rolled back, in one transaction of their own. */
  async writeFailed(events: readonly DataEvent[], client: SqlClient): Promise<void> {
    const failed = events.filter((event) => this.#audited(event.entity));
    if (failed.length > 0) await client.transaction((tx) => this.write(failed, tx));
  }

  async #insert(rows: unknown[][], tx: TxExecutor): Promise<void> {
    const tuple = `(${COLUMNS.map(() => "?").join(", ")})`;
    const sql =
      `INSERT INTO ${quoteTable(this.table, tx.dialect)} (${COLUMNS.join(", ")}) VALUES ` + rows.map(() => tuple).join(", ");
    await tx.query(placeholders(sql, tx.dialect), rows.flat());
  }
}

/** One event as the audit table's column values, in COLUMNS order. */
function auditRow(event: DataEvent): unknown[] {
  const { actor, requestId, traceparent: _trace, ...extra } = event.context as Record<string, unknown>;
  const committed = event.time.committed ?? event.time.occurred;
  return [
    event.id,
    event.entity,
    keyText(event.key),
    toJson(event.key),
    event.action,
    event.outcome,
    typeof actor === "string" ? actor : null,
    typeof requestId === "string" ? requestId : null,
    Object.keys(extra).length > 0 ? toJson(extra) : null,
    event.transaction.id,
    event.transaction.position,
    Math.floor(event.time.occurred),
    Math.floor(committed),
    toJson(event.time),
    toJson(event.before),
    toJson(event.data),
    toJson(event.changes),
    toJson(event.bulk),
    toJson(event.error),
    toJson(event.source),
  ];
}
