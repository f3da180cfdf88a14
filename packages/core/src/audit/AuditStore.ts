import type { DataEvent } from "../envelope/DataEvent.ts";
import { ACTOR_CHARS, columnText, entryJson, keyText } from "./encode.ts";
import { pgUnnestInsert, type PgColumnType } from "./pg-insert.ts";
import type { StoredEntry } from "./entries.ts";
import type { ReferenceRule } from "./forget.ts";
import { AUDIT_TABLE, quoteTable } from "./schema.ts";
import type { InTransactionWriter, SqlClient, SqlDialect, TxExecutor } from "../capture/in-transaction.ts";

/** Which entities the audit keeps, and where. */
export interface AuditStoreOptions {
  /** Audited entities, by name or by class (its name); all when omitted. */
  entities?: readonly (string | { name: string })[] | undefined;
  /** Table name, optionally schema-qualified; `koper_audit` by default. */
  table?: string | undefined;
}

/** The columns an audit row is written with (see schema.ts); `entry` holds the rest of the event. */
export const WRITTEN_COLUMNS = ["entity", "entity_key", "action", "actor", "tx_id", "committed_at", "entry"] as const;

/** The `audit` option of the adapters (`audit: true` is `{}`): which entities, which table, erasure references. */
export interface AuditOptions extends AuditStoreOptions {
  /** Copies of an entity's personal fields in other entities' rows, for `koper.audit.forget` (see AuditLogOptions). */
  references?: Record<string, readonly ReferenceRule[]> | undefined;
}

/**
 * Rows per INSERT statement: one statement per ordinary transaction (each statement is a round trip
 * and a parse), with parameter counts well under every driver's limit (PostgreSQL and MySQL 65,535;
 * SQLite builds before 3.32 999).
 */
const ROWS_PER_STATEMENT: Record<SqlDialect, number> = { postgres: 1000, mysql: 1000, sqlite: 140 };

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
    const per = ROWS_PER_STATEMENT[tx.dialect];
    for (let i = 0; i < rows.length; i += per) {
      await this.#insert(i === 0 && rows.length <= per ? rows : rows.slice(i, i + per), tx);
    }
  }

  /** Writes failure events (outcome `failed`) after their transaction rolled back, in one transaction of their own. */
  async writeFailed(events: readonly DataEvent[], client: SqlClient): Promise<void> {
    const failed = events.filter((event) => this.#audited(event.entity));
    if (failed.length > 0) await client.transaction((tx) => this.write(failed, tx));
  }

  async #insert(rows: unknown[][], tx: TxExecutor): Promise<void> {
    const into = `INSERT INTO ${quoteTable(this.table, tx.dialect)} (${WRITTEN_COLUMNS.join(", ")})`;
    if (tx.dialect === "postgres") {
      const { sql, params } = pgUnnestInsert(into, PG_TYPES, rows);
      await tx.query(sql, params);
      return;
    }
    const tuple = `(${WRITTEN_COLUMNS.map(() => "?").join(", ")})`;
    await tx.query(`${into} VALUES ` + rows.map(() => tuple).join(", "), rows.flat());
  }
}

/** PostgreSQL's element type of each of WRITTEN_COLUMNS in the unnest (committed_at is a bigint). */
const PG_TYPES: readonly PgColumnType[] = ["text", "text", "text", "text", "text", "int8", "text"];

/** One event as the audit table's column values, in WRITTEN_COLUMNS order. */
function auditRow(event: DataEvent): unknown[] {
  const { actor, requestId, traceparent: _trace, ...extra } = event.context as Record<string, unknown>;
  const committed = event.time.committed ?? event.time.occurred;
  const actorText = typeof actor === "string" ? actor : null;
  const entry: StoredEntry = {
    id: event.id,
    key: event.key,
    actor: actorText !== null && actorText.length > ACTOR_CHARS ? actorText : undefined,
    outcome: event.outcome === "committed" ? undefined : event.outcome,
    requestId: typeof requestId === "string" ? requestId : undefined,
    context: Object.keys(extra).length > 0 ? extra : undefined,
    position: event.transaction.position,
    time: event.time,
    before: event.before ?? undefined,
    after: event.data ?? undefined,
    changes: event.changes && event.changes.length > 0 ? event.changes : undefined,
    bulk: event.bulk,
    error: event.error,
    source: event.source,
  };
  return [
    event.entity,
    keyText(event.key),
    event.action,
    actorText === null ? null : columnText(actorText, ACTOR_CHARS),
    event.transaction.id,
    Math.floor(committed),
    entryJson(entry),
  ];
}
