import { databaseFamily, failureAbortsTransaction, isSilenced, runSilenced, unknownEntityNames, type Koper } from "@koper/core";
import type { DataSource } from "typeorm";
import { wrapAutocommitWrites } from "./autocommit.ts";
import { trackBeforeWrites } from "./before-writes.ts";
import { rememberCriteria } from "./criteria.ts";
import { DraftFactory, type SourceInfo } from "./drafts.ts";
import { TypeormAdapterError } from "./errors.ts";
import { driverInfo } from "./failures.ts";
import { FailureTrackingSubscriber } from "./FailureTrackingSubscriber.ts";
import { KoperSubscriber } from "./KoperSubscriber.ts";
import { entityFilter, type KoperTypeormOptions } from "./options.ts";
import { dialectOf, sqlClientOf } from "./sql-client.ts";

/** What `koperTypeorm` returns: the attachment, to undo with `detach()`. */
export interface KoperTypeormHandle {
  /** The TypeORM subscriber Koper added to `dataSource.subscribers`. */
  readonly subscriber: KoperSubscriber;
  /** Removes the subscriber and restores the DataSource's methods; later writes publish nothing. */
  detach(): void;
}

// Writes made by schema sync and migrations are the schema's business, not the application's.
const ATTACHED = Symbol.for("koper.typeorm.attached");
const QUIET_METHODS = ["synchronize", "runMigrations", "undoLastMigration"] as const;

type Patchable = DataSource & { [ATTACHED]?: true } & Record<string, unknown>;

/**
 * Attaches Koper to a TypeORM DataSource: every write through it becomes a data event, published
 * when its transaction commits. Call it before or after `dataSource.initialize()`.
 */
export function koperTypeorm(dataSource: DataSource, koper: Koper, options: KoperTypeormOptions = {}): KoperTypeormHandle {
  if (!isDataSource(dataSource)) throw TypeormAdapterError.notADataSource(dataSource);
  if (!koper || typeof koper !== "object" || !("capture" in koper)) throw TypeormAdapterError.notAKoper(koper);
  const target = dataSource as Patchable;
  if (target[ATTACHED]) throw TypeormAdapterError.alreadyAttached();
  const broadcaster = checkVersion(dataSource);

  if (dataSource.isInitialized) checkNames(dataSource, options); // before changing anything
  const subscriber = makeSubscriber(dataSource, koper, options);
  if (options.audit) koper.useAudit(sqlClientOf(dataSource), options.audit === true ? {} : options.audit);
  rememberCriteria(dataSource.manager);
  const restore: (() => void)[] = [];
  // With an outbox or audit, autocommit writes run in a transaction of their own (see autocommit.ts).
  restore.push(wrapAutocommitWrites(dataSource, koper.capture));
  restore.push(trackBeforeWrites(dataSource, broadcaster, subscriber));
  for (const name of QUIET_METHODS) restore.push(patch(target, name, (original) => (...args) => runSilenced(() => original(...args))));
  const add = () => (dataSource.subscribers as unknown[]).push(subscriber);
  // initialize() replaces `subscribers` with the configured ones: add ours afterwards.
  if (dataSource.isInitialized) add();
  else restore.push(patch(target, "initialize", (original) => async (...args) => {
    const result = await original(...args);
    checkNames(dataSource, options);
    add();
    return result;
  }));
  target[ATTACHED] = true;
  if (options.outbox) koper.attachOutbox(sqlClientOf(dataSource), options.outbox === true ? {} : options.outbox);

  let attached = true;
  return {
    subscriber,
    detach() {
      if (!attached) return;
      attached = false;
      const list = dataSource.subscribers as unknown[];
      const at = list.indexOf(subscriber);
      if (at >= 0) list.splice(at, 1);
      for (const undo of restore.reverse()) undo();
      delete target[ATTACHED];
    },
  };
}

function makeSubscriber(dataSource: DataSource, koper: Koper, options: KoperTypeormOptions): KoperSubscriber {
  const failures = options.failures ?? true;
  // Without failure events, nothing listens to the broadcaster's before-events (see before-writes.ts).
  const Subscriber = failures ? FailureTrackingSubscriber : KoperSubscriber;
  return new Subscriber({
    capture: koper.capture,
    drafts: new DraftFactory(sourceInfo(dataSource, options)),
    wanted: entityFilter(options),
    suppressed: isSilenced,
    dialect: () => dialectOf(dataSource),
    bulk: options.bulk ?? true,
    failures,
    softRemoveAs: options.softRemoveAs ?? "update",
    abortsTransaction: abortsTransaction(dataSource, options.failedStatementAbortsTransaction),
    rowsModified: rowsModifiedOf(dataSource),
    lookupJoinColumns: options.lookupJoinColumns ?? true,
    onError: options.onError ?? ((error) => koper.logger.error("[koper/typeorm] a hook failed; the write itself is unaffected", { error })),
  });
}

type AnyFn = (...args: unknown[]) => Promise<unknown>;

function patch(target: Patchable, name: string, wrap: (original: AnyFn) => AnyFn): () => void {
  const own = Object.getOwnPropertyDescriptor(target, name);
  const original = (target[name] as AnyFn).bind(target);
  Object.defineProperty(target, name, { value: wrap(original), configurable: true, writable: true });
  return () => {
    if (own) Object.defineProperty(target, name, own);
    else delete target[name];
  };
}

/**
 * TypeORM before 0.3.18 has no afterQuery hook: no failure events, no criteria or counts of bulk
 * writes, so it is refused rather than attached half-working. A query runner is created (not
 * connected) only to look at its broadcaster, which is returned (failure tracking wraps its class).
 */
function checkVersion(dataSource: DataSource): object {
  const runner = dataSource.createQueryRunner();
  const broadcaster = (runner as { broadcaster?: { broadcastAfterQueryEvent?: unknown } }).broadcaster;
  // sql.js and the SQLite drivers hand out one shared runner; any other is this check's own.
  if ((dataSource.driver as { queryRunner?: unknown }).queryRunner !== runner) void runner.release().catch(() => {});
  if (typeof broadcaster?.broadcastAfterQueryEvent !== "function") throw TypeormAdapterError.unsupportedVersion("the afterQuery hook (added in 0.3.18)");
  return broadcaster;
}

function isDataSource(value: unknown): value is DataSource {
  return typeof value === "object" && value !== null && "manager" in value && "subscribers" in value && "options" in value;
}

function sourceInfo(dataSource: DataSource, options: KoperTypeormOptions): SourceInfo {
  const database = options.database ?? (dataSource.options as { database?: unknown }).database;
  return typeof database === "string" && database !== "" ? { database } : {};
}

// Which failed statements leave a transaction that cannot commit: core's policy for the database.
function abortsTransaction(dataSource: DataSource, override: boolean | undefined): (error: unknown) => boolean {
  if (override !== undefined) return () => override;
  const family = databaseFamily(String(dataSource.options.type));
  return (error) => failureAbortsTransaction(family, driverInfo(error, undefined));
}

function rowsModifiedOf(dataSource: DataSource): (() => number) | undefined {
  if (dataSource.options.type !== "sqljs") return undefined;
  return () => {
    const connection = (dataSource.driver as { databaseConnection?: { getRowsModified(): number } }).databaseConnection;
    return connection ? connection.getRowsModified() : 0;
  };
}

// A misspelt entity name would silently capture nothing: refuse it once metadata exists.
function checkNames(dataSource: DataSource, options: KoperTypeormOptions): void {
  const known = dataSource.entityMetadatas.map((m) => m.name);
  const tables = dataSource.entityMetadatas.map((m) => m.tableName);
  for (const name of unknownEntityNames(options, [...known, ...tables])) throw TypeormAdapterError.unknownEntity(name, known);
}

