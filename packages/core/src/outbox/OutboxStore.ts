import type { SqlClient, SqlDialect, TxExecutor } from "../capture/in-transaction.ts";
import type { DataEvent } from "../envelope/DataEvent.ts";
import { ConfigError } from "../errors.ts";
import { outboxSql, type OutboxSql } from "./outbox-sql.ts";
import { bucketOf, fromRow, toRow, type OutboxRow, type PendingRow } from "./rows.ts";

/** Where outbox rows live: written in the app's transaction, claimed and finished by the relay. */
export interface OutboxStore {
  readonly dialect: SqlDialect;
  /** Inserts one row per event in `tx`, as one multi-row statement. */
  insert(events: readonly DataEvent[], topicFor: (entity: string) => string, tx: TxExecutor): Promise<void>;
  /**
   * Runs `fn` with up to `limit` pending rows, oldest first, that no other relay holds (their buckets
   * stay locked until `fn` ends). When `fn` resolves the rows are done (deleted, or kept with
   * `published_at`); when it rejects they stay pending. Resolves to how many rows `fn` got.
   */
  claim(limit: number, fn: (rows: PendingRow[]) => Promise<void>): Promise<number>;
  /** Deletes done rows published before `before` (ms since the epoch); resolves to nothing useful. */
  expire(before: number): Promise<void>;
}

/** Options of the SQL outbox store. */
export interface SqlOutboxStoreOptions {
  /** The table, optionally schema-qualified. Default "koper_outbox" (its lease table is `<table>_lease`). */
  table?: string;
  /** Key buckets relays lock to share the work without reordering a key. Default 64 (as in the migrations). */
  buckets?: number;
  /** Keep done rows this long (ms) instead of deleting them. Default 0: deleted at once. */
  retentionMs?: number;
}

// A plain identifier, optionally schema-qualified ("app.koper_outbox"): it is written into SQL as is.
const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,50}$/;
// PostgreSQL accepts at most 65,535 parameters per statement; 8 per row.
const MAX_ROWS_PER_INSERT = 4000;

/** The outbox on a SqlClient: the table of `ensureOutboxTable()` or of the committed migrations. */
export class SqlOutboxStore implements OutboxStore {
  readonly dialect: SqlDialect;
  readonly #client: SqlClient;
  readonly #sql: OutboxSql;
  readonly #buckets: number;
  readonly #keep: boolean;

  constructor(client: SqlClient, options: SqlOutboxStoreOptions = {}) {
    const table = options.table ?? "koper_outbox";
    if (!TABLE_NAME.test(table)) throw ConfigError.invalidOption("outbox.table", `expected a plain SQL identifier, got ${JSON.stringify(table)}`);
    this.#buckets = options.buckets ?? 64;
    if (!Number.isInteger(this.#buckets) || this.#buckets < 1 || this.#buckets > 1024) throw ConfigError.invalidOption("outbox.buckets", "expected an integer from 1 to 1024");
    this.#client = client;
    this.dialect = client.dialect;
    this.#sql = outboxSql(client.dialect, table);
    this.#keep = (options.retentionMs ?? 0) > 0;
  }

  /** The LISTEN/NOTIFY channel of this table (PostgreSQL). */
  get channel(): string {
    return this.#sql.channel;
  }

  /** Creates the table, its indexes and its lease rows when missing (for tests and demos; production runs the migration). */
  async ensureTable(): Promise<void> {
    for (const statement of this.#sql.create) await this.#client.query(statement);
    const { sql, params } = this.#sql.leaseRows(this.#buckets);
    await this.#client.query(sql, params);
  }

  async insert(events: readonly DataEvent[], topicFor: (entity: string) => string, tx: TxExecutor): Promise<void> {
    for (let at = 0; at < events.length; at += MAX_ROWS_PER_INSERT) {
      const chunk = events.slice(at, at + MAX_ROWS_PER_INSERT);
      const params = chunk.flatMap((event) => toRow(event, topicFor(event.entity), this.#buckets));
      await tx.query(this.#sql.insert(chunk.length), params);
    }
  }

  async claim(limit: number, fn: (rows: PendingRow[]) => Promise<void>): Promise<number> {
    const { claimBuckets, take } = this.#sql;
    if (!claimBuckets) return this.#claimAlone(limit, fn);
    return this.#client.transaction(async (tx) => {
      const rows = take ? await this.#take(tx, take, limit) : await this.#lockAndRead(tx, claimBuckets, limit);
      if (rows.length === 0) return 0;
      await fn(rows);
      if (!take) await this.#finish(tx, rows);
      return rows.length;
    });
  }

  // PostgreSQL: buckets locked and rows taken in one statement; RETURNING has no order, ids give it back.
  async #take(tx: TxExecutor, take: (keep: boolean) => string, limit: number): Promise<PendingRow[]> {
    const rows = (await tx.query(take(this.#keep), this.#keep ? [limit, Date.now()] : [limit])).map(fromRow);
    return rows.sort((a, b) => a.id - b.id);
  }

  // MariaDB/MySQL (no RETURNING on MySQL): lock the free buckets, then read their oldest rows.
  async #lockAndRead(tx: TxExecutor, claimBuckets: string, limit: number): Promise<PendingRow[]> {
    const buckets = (await tx.query(claimBuckets)).map((row) => Number(row.bucket));
    if (buckets.length === 0) return [];
    const all = buckets.length === this.#buckets;
    return (await tx.query(this.#sql.pending(all ? 0 : buckets.length), all ? [limit] : [...buckets, limit])).map(fromRow);
  }

  // SQLite: one relay, and no write lock held while publishing (it would stop the app's writers).
  async #claimAlone(limit: number, fn: (rows: PendingRow[]) => Promise<void>): Promise<number> {
    const rows = (await this.#client.query(this.#sql.pending(0), [limit])).map(fromRow);
    if (rows.length === 0) return 0;
    await fn(rows);
    await this.#client.transaction((tx) => this.#finish(tx, rows));
    return rows.length;
  }

  async #finish(tx: TxExecutor, done: PendingRow[]): Promise<void> {
    for (let at = 0; at < done.length; at += MAX_ROWS_PER_INSERT) {
      const ids = done.slice(at, at + MAX_ROWS_PER_INSERT).map((row) => row.id);
      await tx.query(this.#sql.done(ids.length, this.#keep), this.#keep ? [Date.now(), ...ids] : ids);
    }
  }

  async expire(before: number): Promise<void> {
    await this.#client.query(this.#sql.expire, [before]);
  }
}

export { bucketOf };
export type { OutboxRow, PendingRow };
