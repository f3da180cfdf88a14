import { entityFilter as coreEntityFilter, type AuditOptions, type OutboxOptions } from "@koper/core";
import type { ModelInfo } from "./schema.ts";

/** What `koperPrisma(koper, options)` takes; every field has a default. */
export interface KoperPrismaOptions {
  /**
   * The audit trail: `true` for every captured entity, or `{ entities, table, references }`. Each
   * committing transaction's events are written to the audit table (koper_audit) inside it; failed
   * attempts after the rollback, marked failed. Query it with `koper.audit`.
   */
  audit?: boolean | AuditOptions | undefined;
  /** Capture only these models (by model name). Default: every model. */
  entities?: readonly string[];
  /** Never capture these models (wins over `entities`), e.g. an audit or outbox model. */
  exclude?: readonly string[];
  /**
   * Read the rows a write changes before it runs, in the same transaction, so update and delete
   * events carry `before` (updates only; a delete's `before` is the deleted row Prisma returns).
   * `true` for every model, or a list of model names. Default false: one extra SELECT per update.
   */
  captureBefore?: boolean | readonly string[];
  /**
   * Capture writes by criteria (`createMany`, `updateMany`, `deleteMany`, `$executeRaw`, nested
   * writes the result does not show) as bulk events. Default true.
   */
  bulk?: boolean;
  /** Publish a failure event (`_X` handlers) for writes that Prisma or the database refused. Default true. */
  failures?: boolean;
  /** Primary-key fields per model, for a model whose `@id`/`@@id` Koper cannot read from the schema. */
  keys?: Readonly<Record<string, readonly string[]>>;
  /**
   * Whether a failed statement means the transaction cannot commit, so its events must be dropped.
   * Default: any database error on PostgreSQL/CockroachDB; a deadlock on MySQL/MariaDB; never on SQLite.
   */
  failedStatementAbortsTransaction?: boolean;
  /**
   * The transactional outbox: each transaction's events are written to the outbox table in the same
   * transaction (one multi-row insert before COMMIT; an autocommit write is re-issued in a
   * transaction of its own) and the relay publishes them, so a committed write is never lost
   * (at-least-once). `true` for the defaults. Run the table's migration first (or
   * `ensureOutboxTable`). Default: off (events are published right after COMMIT).
   */
  outbox?: boolean | OutboxOptions;
  /** Overrides `source.database` in events. Default: none (Prisma does not expose it). */
  database?: string;
  /**
   * Called when the adapter's own code fails (never with the application's errors, which Prisma
   * throws unchanged). Default: `koper.logger.error` (the Koper `logger` option).
   */
  onError?: (error: unknown) => void;
}

/** The answer of `captureBefore` per model, resolved once (it is asked on every update). */
export function beforeFilter(options: KoperPrismaOptions): (model: string) => boolean {
  const setting = options.captureBefore ?? false;
  if (typeof setting === "boolean") return () => setting;
  const models = new Set(setting);
  return (model) => models.has(model);
}

/** The model filter built from `entities` and `exclude` (core's policy; Prisma names a model by its name). */
export function entityFilter(options: KoperPrismaOptions): (model: ModelInfo) => boolean {
  return coreEntityFilter<ModelInfo, string>(options, (model, name) => model.name === name);
}
