import type { Row } from "../envelope/DataEvent.ts";
import { AuditError } from "../errors.ts";
import { ACTOR_CHARS, columnText, epochMs, fromJson, keyText, placeholders } from "./encode.ts";
import { nextState, SELECT_COLUMNS, toEntries, toVersions, type AuditAction, type AuditEntry, type AuditVersion, type StoredEntry } from "./entries.ts";
import { forget, type ForgetResult, type ReferenceRule } from "./forget.ts";
import { readPage } from "./pages.ts";
import { AUDIT_TABLE, quoteTable } from "./schema.ts";
import type { SqlClient } from "../capture/in-transaction.ts";

/** A row's key: its key object, or the bare value of a one-column key. */
export type AuditKey = Row | string | number | bigint;

/**
 * Where `stateAt` looks: a time (Date or epoch ms: after every version committed in or before that
 * millisecond), or one version by its event id (`{ version: entry.eventId }`: just after that version,
 * which tells apart versions committed in the same millisecond).
 */
export type AuditPoint = Date | number | { version: string };

/**
 * A row's history is in a total order: by commit time (ms), then by `seq`, the audit table's insert
 * order. Versions of one row in one millisecond are thereby in commit order: a row's writer holds its
 * lock until it commits, so the next writer's audit row is inserted after.
 */
const HISTORY_ORDER = "committed_at, seq";

/** The actions an audit row can record. */
const ACTIONS: readonly AuditAction[] = ["insert", "update", "delete", "forget"];

/** Options of an AuditLog. */
export interface AuditLogOptions {
  /** Table name, optionally schema-qualified; `koper_audit` by default. */
  table?: string | undefined;
  /**
   * Copies of an entity's personal fields kept in other entities' rows, for `forget`: e.g.
   * `{ Customer: [{ entity: "Order", by: "customerId", fields: ["shipName"] }] }`.
   */
  references?: Record<string, readonly ReferenceRule[]> | undefined;
}

/** What `changes()` selects; every filter is optional. */
export interface ChangesQuery {
  entity?: string | undefined;
  actor?: string | undefined;
  action?: AuditAction | undefined;
  /** Committed at or after (Date or epoch ms). */
  since?: Date | number | undefined;
  /** Committed before (Date or epoch ms). */
  until?: Date | number | undefined;
  /** Where the previous page ended (`page.cursor`). */
  cursor?: string | null | undefined;
  /** Entries per page (default 100, at most 10,000). */
  limit?: number | undefined;
}

/** One page of `changes()`: pass `cursor` back for the next one (also after an empty page, to follow new rows). */
export interface ChangesPage {
  entries: AuditEntry[];
  cursor: string;
  /** True when more rows were already there past this page. */
  hasMore: boolean;
}

/**
 * The audit trail's query API on a database connection (also `koper.audit` when an adapter has
 * `audit` on): a row's history with field-level diffs, the row as it was at a time, changes by
 * entity/actor/time with cursor pagination, one transaction's writes, retention and erasure.
 */
export class AuditLog {
  readonly client: SqlClient;
  readonly #table: string;
  readonly #references: Record<string, readonly ReferenceRule[]>;

  constructor(client: SqlClient, options: AuditLogOptions = {}) {
    this.client = client;
    this.#table = quoteTable(options.table ?? AUDIT_TABLE, client.dialect);
    this.#references = options.references ?? {};
  }

  /** One row's versions, oldest first, each with its field-level diff and the state after it. */
  async history(entity: string, key: AuditKey): Promise<AuditVersion[]> {
    return toVersions(await this.#entriesOf(entity, key));
  }

  /**
   * The row as it was at `point` (null when it did not exist then), rebuilt from its history: at a time
   * (Date or epoch ms; the last version of that millisecond counts), or just after one version
   * (`{ version: eventId }`). A version that is not this row's is an `audit_invalid_argument` error.
   */
  async stateAt(entity: string, key: AuditKey, point: AuditPoint): Promise<Row | null> {
    const version = typeof point === "object" && !(point instanceof Date) ? versionOf(point) : undefined;
    const until = version === undefined ? epochMs(point as Date | number, "time") : undefined;
    let state: Row | null = null;
    for (const entry of await this.#entriesOf(entity, key, until)) {
      if (entry.outcome === "committed") state = nextState(entry, state);
      if (entry.eventId === version) return state;
    }
    if (version !== undefined) throw AuditError.invalidArgument("version", `${version} is not a version of ${entity} ${keyText(key as Row)}`);
    return state;
  }

  /** Changes matching `query`, in a stable order, a page at a time; each row appears exactly once across pages. */
  async changes(query: ChangesQuery = {}): Promise<ChangesPage> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw AuditError.invalidArgument("limit", "expected an integer from 1 to 10000");
    }
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => (where.push(sql), params.push(value));
    if (query.entity !== undefined) add("entity = ?", query.entity);
    if (query.actor !== undefined) add("actor = ?", columnText(query.actor, ACTOR_CHARS));
    if (query.action !== undefined) {
      if (!ACTIONS.includes(query.action)) throw AuditError.invalidArgument("action", `${JSON.stringify(query.action)} is not one of ${ACTIONS.join(", ")}`);
      add("action = ?", query.action);
    }
    if (query.since !== undefined) add("committed_at >= ?", epochMs(query.since, "since"));
    if (query.until !== undefined) add("committed_at < ?", epochMs(query.until, "until"));
    return readPage(this.client, this.#table, { where, params, cursor: query.cursor ?? null, limit });
  }

  /** Everything one transaction did (its audited writes), in order. */
  async transaction(id: string): Promise<AuditEntry[]> {
    const entries = await this.#select("tx_id = ? ORDER BY seq", [id]);
    return entries.sort((a, b) => a.transaction.position - b.transaction.position); // stable: seq order within a position
  }

  /** Deletes audit rows committed before `olderThan`; returns how many. */
  async prune(options: { olderThan: Date | number }): Promise<number> {
    const before = epochMs(options.olderThan, "olderThan");
    return this.client.transaction(async (tx) => {
      const [row] = await tx.query(placeholders(`SELECT COUNT(*) AS n FROM ${this.#table} WHERE committed_at < ?`, tx.dialect), [before]);
      await tx.query(placeholders(`DELETE FROM ${this.#table} WHERE committed_at < ?`, tx.dialect), [before]);
      return Number(row?.n ?? 0);
    });
  }

  /**
   * Erases one subject's personal fields (all but its key fields when `fields` is omitted) from its
   * whole history, from bulk entries and error texts that quote them, and from configured copies in
   * other entities' rows; records the erasure as a `forget` entry that names the fields, not the values.
   */
  async forget(entity: string, key: AuditKey, fields?: readonly string[]): Promise<ForgetResult> {
    return forget(this.client, this.#table, { entity, key, fields, references: this.#references[entity] ?? [] });
  }

  /**
   * The field names of the entity's keys as its audit rows hold them (`["id"]`, `["orderId", "line"]`):
   * what `history`/`stateAt` must be given, e.g. to tell a caller who gave another key. An empty list
   * when the entity's rows carry no key (bulk entries, keyless failed attempts, erasures only);
   * undefined when the table has no row of the entity at all (a misspelt entity name).
   */
  async keyFields(entity: string): Promise<string[] | undefined> {
    // The highest key text is a keyed row's when there is one (a keyless row's is empty), read off the
    // (entity, entity_key) index. Not an erasure's: its key is as its caller gave it.
    const keyed = `SELECT entry FROM ${this.#table} WHERE entity = ? AND action <> 'forget' ORDER BY entity_key DESC LIMIT 1`;
    const [row] = await this.client.query(placeholders(keyed, this.client.dialect), [entity]);
    if (row) return Object.keys(fromJson<StoredEntry>(row.entry)?.key ?? {});
    const any = await this.client.query(placeholders(`SELECT 1 AS found FROM ${this.#table} WHERE entity = ? LIMIT 1`, this.client.dialect), [entity]);
    return any.length > 0 ? [] : undefined;
  }

  async #entriesOf(entity: string, key: AuditKey, until?: number): Promise<AuditEntry[]> {
    const where = `entity = ? AND entity_key = ?${until === undefined ? "" : " AND committed_at <= ?"}`;
    const params: unknown[] = [entity, keyText(key as Row)];
    if (until !== undefined) params.push(until);
    return this.#select(`${where} ORDER BY ${HISTORY_ORDER}`, params);
  }

  async #select(tail: string, params: unknown[]): Promise<AuditEntry[]> {
    const sql = `SELECT ${SELECT_COLUMNS} FROM ${this.#table} WHERE ${tail}`;
    return toEntries(await this.client.query(placeholders(sql, this.client.dialect), params));
  }
}

function versionOf(point: { version?: unknown }): string {
  if (typeof point.version !== "string") throw AuditError.invalidArgument("point", "expected a Date, epoch milliseconds or { version: eventId }");
  return point.version;
}
