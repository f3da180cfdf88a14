import type { SqlDialect } from "../capture/in-transaction.ts";

/** The statements of one outbox table, written once per dialect. */
export interface OutboxSql {
  /** DDL, one statement each: the table, its indexes, the lease table (rows are added by `leaseRows`). */
  create: string[];
  /** Inserts the lease rows 0..buckets-1 that are missing. */
  leaseRows(buckets: number): { sql: string; params: unknown[] };
  /** One multi-row insert of `rows` rows (8 params each); on PostgreSQL it also notifies the relay. */
  insert(rows: number): string;
  /** Locks the free buckets (skipping those another relay holds); undefined on SQLite (one relay). */
  claimBuckets: string | undefined;
  /**
   * PostgreSQL: one statement that locks the free buckets and deletes (or, keeping, marks done) the
   * oldest pending rows of those buckets, returning them: `($limit)` or `($limit, $publishedAt)`.
   * Run in the transaction that publishes them: a failed publish rolls it back, and the rows are pending again.
   */
  take: ((keep: boolean) => string) | undefined;
  /**
   * Pending rows of the given buckets (all when `buckets` is 0), in id order: `(...buckets, limit)`.
   * Params are always numbered in the order they appear (adapters may turn `$n` into `?`).
   */
  pending(buckets: number): string;
  /** Deletes or marks done the rows with these ids: `(…ids)` or `(publishedAt, …ids)`. */
  done(ids: number, keep: boolean): string;
  /** Deletes done rows published before `$1`. */
  expire: string;
  /** The channel the relay listens on (PostgreSQL). */
  channel: string;
}

const COLUMNS = "event_id, entity, routing_key, bucket, topic, payload, created_at, published_at";
// What the relay reads of a pending row (`fromRow`).
const PENDING = "id, event_id, entity, routing_key, topic, payload";

/** The SQL of outbox table `table` on `dialect`. `table` is checked by the caller (`checkTableName`). */
export function outboxSql(dialect: SqlDialect, table: string): OutboxSql {
  const mark = dialect === "postgres" ? (i: number) => `$${i}` : () => "?";
  const list = (from: number, n: number) => Array.from({ length: n }, (_, i) => mark(from + i)).join(", ");
  const lease = `${table}_lease`;
  // Index names cannot carry the schema: the table's own name, with the schema's if any.
  const base = table.replace(".", "_");
  const insertValues = (rows: number) =>
    Array.from({ length: rows }, (_, r) => `(${list(r * 8 + 1, 8)})`).join(", ");
  return {
    create: ddl(dialect, table, lease, base),
    leaseRows: (buckets) => ({
      sql:
        dialect === "mysql"
          ? `INSERT IGNORE INTO ${lease} (bucket) VALUES ${Array.from({ length: buckets }, (_, i) => `(${mark(i + 1)})`).join(", ")}`
          : `INSERT INTO ${lease} (bucket) VALUES ${Array.from({ length: buckets }, (_, i) => `(${mark(i + 1)})`).join(", ")} ON CONFLICT DO NOTHING`,
      params: Array.from({ length: buckets }, (_, i) => i),
    }),
    insert: (rows) =>
      dialect === "postgres"
        ? // One statement: the rows and the wake-up, delivered to listeners at COMMIT.
          `WITH ins AS (INSERT INTO ${table} (${COLUMNS}) VALUES ${insertValues(rows)} RETURNING 1) SELECT pg_notify('${table}', '')::text AS notified FROM (SELECT count(*) FROM ins) n`
        : `INSERT INTO ${table} (${COLUMNS}) VALUES ${insertValues(rows)}`,
    claimBuckets: dialect === "sqlite" ? undefined : `SELECT bucket FROM ${lease} ORDER BY bucket FOR UPDATE SKIP LOCKED`,
    take: dialect === "postgres" ? (keep) => take(table, lease, keep) : undefined,
    pending: (buckets) =>
      `SELECT ${PENDING} FROM ${table} WHERE published_at IS NULL` +
      (buckets > 0 ? ` AND bucket IN (${list(1, buckets)})` : "") +
      ` ORDER BY id LIMIT ${mark(buckets + 1)}`,
    done: (ids, keep) =>
      keep
        ? `UPDATE ${table} SET published_at = ${mark(1)} WHERE id IN (${list(2, ids)})`
        : `DELETE FROM ${table} WHERE id IN (${list(1, ids)})`,
    expire: `DELETE FROM ${table} WHERE published_at IS NOT NULL AND published_at < ${mark(1)}`,
    channel: table,
  };
}

// The statement's snapshot predates its bucket locks: a row another relay finished meanwhile is
// skipped by the outer `published_at IS NULL` (PostgreSQL re-checks it on the row's latest version),
// so no row is taken twice, and a key's rows are only ever taken oldest first under its bucket's lock.
function take(table: string, lease: string, keep: boolean): string {
  const oldest = `SELECT id FROM ${table} WHERE published_at IS NULL AND bucket IN (SELECT bucket FROM free) ORDER BY id LIMIT $1`;
  const finish = keep ? `UPDATE ${table} SET published_at = $2` : `DELETE FROM ${table}`;
  // `= ANY(ARRAY(…))`: the ids first, then the rows by primary key (an `IN (…)` semi-join scanned the pending rows twice).
  return `WITH free AS (SELECT bucket FROM ${lease} FOR UPDATE SKIP LOCKED) ${finish} WHERE published_at IS NULL AND id = ANY(ARRAY(${oldest})) RETURNING ${PENDING}`;
}

function ddl(dialect: SqlDialect, table: string, lease: string, base: string): string[] {
  if (dialect === "postgres") {
    return [
      `CREATE TABLE IF NOT EXISTS ${table} (id BIGSERIAL PRIMARY KEY, event_id VARCHAR(64) NOT NULL, entity VARCHAR(255) NOT NULL, routing_key TEXT NOT NULL, bucket INTEGER NOT NULL, topic VARCHAR(249) NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL, published_at BIGINT)`,
      `CREATE INDEX IF NOT EXISTS ${base}_pending ON ${table} (id) WHERE published_at IS NULL`,
      `CREATE INDEX IF NOT EXISTS ${base}_published ON ${table} (published_at) WHERE published_at IS NOT NULL`,
      `CREATE TABLE IF NOT EXISTS ${lease} (bucket INTEGER PRIMARY KEY)`,
    ];
  }
  if (dialect === "mysql") {
    return [
      `CREATE TABLE IF NOT EXISTS ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, event_id VARCHAR(64) NOT NULL, entity VARCHAR(255) NOT NULL, routing_key TEXT NOT NULL, bucket INT NOT NULL, topic VARCHAR(249) NOT NULL, payload LONGTEXT NOT NULL, created_at BIGINT NOT NULL, published_at BIGINT NULL, INDEX ${base}_pending (published_at, id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS ${lease} (bucket INT PRIMARY KEY) ENGINE=InnoDB`,
    ];
  }
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, entity TEXT NOT NULL, routing_key TEXT NOT NULL, bucket INTEGER NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL, published_at INTEGER)`,
    `CREATE INDEX IF NOT EXISTS ${base}_pending ON ${table} (id) WHERE published_at IS NULL`,
    `CREATE INDEX IF NOT EXISTS ${base}_published ON ${table} (published_at) WHERE published_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${lease} (bucket INTEGER PRIMARY KEY)`,
  ];
}
