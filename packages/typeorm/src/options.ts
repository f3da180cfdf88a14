import { entityFilter as coreEntityFilter, type AuditOptions, type OutboxOptions } from "@koper/core";
import type { EntityMetadata } from "typeorm";

/** An entity named by its TypeORM entity name (the class name) or by its class. */
export type TypeormEntityRef = string | (abstract new (...args: never[]) => unknown);

/** What `koperTypeorm(dataSource, koper, options)` takes; every field has a default. */
export interface KoperTypeormOptions {
  /**
   * The audit trail: `true` for every captured entity, or `{ entities, table, references }`. Each
   * committing transaction's events are written to the audit table (koper_audit) inside it; failed
   * attempts after the rollback, marked failed. Query it with `koper.audit`.
   */
  audit?: boolean | AuditOptions | undefined;
  /** Capture only these entities. Default: every entity of the DataSource. */
  entities?: readonly TypeormEntityRef[];
  /** Never capture these entities (wins over `entities`), e.g. an audit or outbox table. */
  exclude?: readonly TypeormEntityRef[];
  /**
   * Capture criteria writes (`update(where, set)`, `delete(where)`, `upsert`, QueryBuilder writes)
   * as bulk events. Default true.
   */
  bulk?: boolean;
  /**
   * Publish a failure event (`_X` handlers) for writes the database refused. Default true.
   * Each write TypeORM announces before running it is then noted (a small cost per row): turn it
   * off where in-memory write speed matters more than failure events.
   */
  failures?: boolean;
  /**
   * Which action a `softRemove`/`softDelete` (and `recover`/`restore`) is published as. The row
   * still exists, so the default is "update" (changes = the delete-date column); "delete" makes
   * `softRemove` reach `onDelete…` handlers (`recover` then stays an update).
   */
  softRemoveAs?: "update" | "delete";
  /**
   * Whether a failed statement means the transaction cannot commit, so its events must be
   * dropped. Default: every failure on PostgreSQL and CockroachDB, which abort the transaction;
   * a deadlock on MySQL/MariaDB (InnoDB rolls the transaction back); never on SQLite.
   */
  failedStatementAbortsTransaction?: boolean;
  /**
   * When an entity is saved, soft-removed or removed without its to-one relation loaded
   * (`findOneBy` then `save`), TypeORM never reads that relation's join column (`authorId`).
   * Koper then reads it with one SELECT by primary key, in the same transaction, so `data` and
   * `before` carry it. The same SELECT reads, after an insert, an `insert: false` column TypeORM
   * does not read back itself (no TypeORM `default`: the database's default or a trigger set it).
   * Default true; false skips the SELECT, and those events lack the column.
   */
  lookupJoinColumns?: boolean;
  /**
   * The transactional outbox: each transaction's events are written to the outbox table in the same
   * transaction (one multi-row insert before COMMIT) and the relay publishes them, so a committed
   * write is never lost (at-least-once). `true` for the defaults. Run the table's migration first
   * (or `ensureOutboxTable`). Default: off (events are published right after COMMIT).
   */
  outbox?: boolean | OutboxOptions;
  /** Overrides `source.database` in events. Default: the DataSource's `database` option. */
  database?: string;
  /**
   * Called when a hook of the adapter itself fails (never with the application's own errors,
   * which TypeORM throws unchanged). Default: `koper.logger.error` (the Koper `logger` option).
   */
  onError?: (error: unknown) => void;
}

/** The entity filter built from `entities` and `exclude` (core's policy, TypeORM's way of naming an entity). */
export function entityFilter(options: KoperTypeormOptions): (metadata: EntityMetadata) => boolean {
  return coreEntityFilter<EntityMetadata, TypeormEntityRef>(options, (metadata, ref) =>
    typeof ref === "string" ? ref === metadata.name || ref === metadata.tableName : ref === metadata.target,
  );
}
