import { entityFilter as coreEntityFilter, type AuditOptions, type OutboxOptions } from "@koper/core";
import type { AnyEntity, EntityMetadata } from "@mikro-orm/core";

/** An entity named by its MikroORM entity name (the class name), its table name, or its class. */
export type MikroOrmEntityRef = string | (abstract new (...args: never[]) => unknown);

/** What `koperMikroOrm(orm, koper, options)` takes; every field has a default. */
export interface KoperMikroOrmOptions {
  /**
   * The audit trail: `true` for every captured entity, or `{ entities, table, references }`. Each
   * committing transaction's events are written to the audit table (koper_audit) inside it; failed
   * attempts after the rollback, marked failed. Query it with `koper.audit`.
   */
  audit?: boolean | AuditOptions | undefined;
  /** Capture only these entities. Default: every entity of the ORM. */
  entities?: readonly MikroOrmEntityRef[];
  /** Never capture these entities (wins over `entities`), e.g. an audit or outbox table. */
  exclude?: readonly MikroOrmEntityRef[];
  /**
   * Capture writes that bypass the unit of work (`em.nativeUpdate`, `em.nativeDelete`, `em.upsert`,
   * QueryBuilder writes) as bulk events. Default true. (`em.insert`/`insertMany` give row events.)
   */
  bulk?: boolean;
  /** Publish a failure event (`_X` handlers) for writes the database (or MikroORM's validation) refused. Default true. */
  failures?: boolean;
  /**
   * Whether a failed statement means the transaction cannot commit, so its events must be
   * dropped. Default: core's policy for the database (every failure on PostgreSQL, a deadlock on
   * MySQL/MariaDB, never on SQLite).
   */
  failedStatementAbortsTransaction?: boolean;
  /**
   * The transactional outbox: each transaction's events are written to the outbox table in the same
   * transaction (one multi-row insert before COMMIT) and the relay publishes them, so a committed
   * write is never lost (at-least-once). `true` for the defaults. Run the table's migration first
   * (or `ensureOutboxTable`). Default: off (events are published right after COMMIT).
   */
  outbox?: boolean | OutboxOptions;
  /**
   * When an entity MikroORM never loaded is removed (`em.remove(em.getReference(Book, 5))`), read its
   * row with one `SELECT` by primary key just before the flush (in the flush's transaction when the
   * flush runs inside `em.transactional`/`em.begin`), so the delete event's `before` is the row, its
   * references' keys included. `false` skips the `SELECT`: such an event's `before` is then only the
   * key. Default true (the TypeORM adapter's option of the same name does the same for its saves).
   */
  lookupJoinColumns?: boolean;
  /** Overrides `source.database` in events. Default: the ORM's `dbName`. */
  database?: string;
  /**
   * Called when a hook of the adapter itself fails (never with the application's own errors,
   * which MikroORM throws unchanged). Default: `koper.logger.error` (the Koper `logger` option).
   */
  onError?: (error: unknown) => void;
}

type Meta = EntityMetadata<AnyEntity>;

/** The entity filter built from `entities` and `exclude` (core's policy, MikroORM's way of naming an entity). */
export function entityFilter(options: KoperMikroOrmOptions): (metadata: Meta) => boolean {
  return coreEntityFilter<Meta, MikroOrmEntityRef>(options, (metadata, ref) =>
    typeof ref === "string" ? ref === metadata.className || ref === metadata.tableName : ref === metadata.class,
  );
}
