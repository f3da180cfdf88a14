import { AsyncLocalStorage } from "node:async_hooks";
import type { Action, ChangeCapture, ChangeDraft } from "@koper/core";
import type {
  AfterQueryEvent,
  EntityMetadata,
  EntitySubscriberInterface,
  InsertEvent,
  ObjectLiteral,
  QueryRunner,
  RecoverEvent,
  RemoveEvent,
  SoftRemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  TransactionStartEvent,
  UpdateEvent,
} from "typeorm";
import { currentWhere } from "./criteria.ts";
import { deleteDateField, type DraftFactory, type Sibling } from "./drafts.ts";
import { driverInfo, matchPending, type PendingWrite } from "./failures.ts";
import { looksLikeWrite, parseWrite, type WriteStatement } from "./statements.ts";

/** What the subscriber needs from `koperTypeorm`. */
export interface SubscriberDeps {
  capture: ChangeCapture;
  drafts: DraftFactory;
  wanted: (metadata: EntityMetadata) => boolean;
  /** True inside schema sync and migrations, whose writes publish nothing. */
  suppressed: () => boolean;
  bulk: boolean;
  failures: boolean;
  softRemoveAs: "update" | "delete";
  /** Whether this error means the database rolled the whole transaction back (or will, at COMMIT). */
  abortsTransaction: (error: unknown) => boolean;
  /** sql.js reports affected rows only through its connection, right after the statement. */
  rowsModified: (() => number) | undefined;
  onError: (error: unknown) => void;
}

interface LastWrite {
  sql: string;
  parameters: unknown[] | undefined;
  affected: number | null;
}

/** What the subscriber remembers per QueryRunner, between the hooks of one operation. */
export interface RunnerState {
  /** The last successful write statement: the criteria and count a QueryBuilder after-hook lacks. */
  last: LastWrite | undefined;
  /** The writes of the runner's current operation, from its before-hooks (failure tracking only). */
  pending: PendingWrite[];
  /** The entities of the current operation's after-hooks so far: a cascaded child's parents. */
  recent: Sibling[];
  /** The operation's after-hooks began: it succeeded, and its next statement starts another. */
  settled: boolean;
}

/**
 * The TypeORM subscriber that translates hooks into Koper's capture API. The QueryRunner is the
 * transaction handle: TypeORM runs a transaction, and its savepoints, on one runner.
 * It has no before-hooks: when any exists, TypeORM recomputes every subject of a `save` after
 * calling it; only `FailureTrackingSubscriber`, which needs them, has them.
 */
export class KoperSubscriber implements EntitySubscriberInterface {
  protected readonly deps: SubscriberDeps;
  protected readonly runners = new WeakMap<QueryRunner, RunnerState>();

  constructor(deps: SubscriberDeps) {
    this.deps = deps;
  }

  afterTransactionStart(event: TransactionStartEvent): void {
    this.deps.capture.begin(event.queryRunner);
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const runner = event.queryRunner;
    // Attached while this transaction was already open: its start was never seen.
    if (this.deps.capture.depth(runner) === 0) return;
    this.#forgetPending(runner);
    try {
      await this.deps.capture.commit(runner);
    } catch (error) {
      this.deps.onError(error);
    }
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.#forgetPending(event.queryRunner);
    this.deps.capture.rollback(event.queryRunner);
  }

  afterQuery(event: AfterQueryEvent): Promise<void> | void {
    const runner = event.queryRunner;
    if (event.success) {
      if (!looksLikeWrite(event.query)) return;
      const affected = this.deps.rowsModified ? this.deps.rowsModified() : affectedOf(event.rawResults);
      const state = this.state(runner);
      if (state.settled) this.reset(state);
      state.last = { sql: event.query, parameters: paramsOf(event.parameters), affected };
      return;
    }
    if (runner.isTransactionActive && this.deps.abortsTransaction(event.error)) this.deps.capture.poison(runner);
    if (!this.deps.failures || !looksLikeWrite(event.query)) return;
    return this.#failed(runner, event).catch(this.deps.onError);
  }

  afterInsert(event: InsertEvent<ObjectLiteral>): Promise<void> | void {
    const { metadata, entity, entityId, queryRunner } = event;
    return this.#record(queryRunner, metadata, entity, () => {
      if (entityId !== undefined) return this.deps.drafts.inserted(metadata, entity, entityId, this.runners.get(queryRunner)?.recent ?? []);
      const draft = this.deps.drafts.insertedByBuilder(metadata, entity, this.#lastStatement(queryRunner));
      return draft.bulk && !this.deps.bulk ? undefined : draft;
    });
  }

  afterUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> | void {
    const { metadata, entity, databaseEntity, queryRunner } = event;
    return this.#record(queryRunner, metadata, entity, () => {
      if (databaseEntity) {
        return this.deps.drafts.updated(metadata, entity, databaseEntity, event.updatedColumns, event.updatedRelations);
      }
      return this.#bulk(queryRunner, metadata, "update", entity);
    });
  }

  afterRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> | void {
    const { metadata, entity, databaseEntity, entityId, queryRunner } = event;
    return this.#record(queryRunner, metadata, entity, () => {
      if (databaseEntity || entity || entityId !== undefined) return this.deps.drafts.removed(metadata, entity, databaseEntity, entityId);
      return this.#bulk(queryRunner, metadata, "delete", undefined);
    });
  }

  afterSoftRemove(event: SoftRemoveEvent<ObjectLiteral>): Promise<void> | void {
    return this.#soft(event, this.deps.softRemoveAs);
  }

  afterRecover(event: RecoverEvent<ObjectLiteral>): Promise<void> | void {
    return this.#soft(event, "update");
  }

  #soft(event: RemoveEvent<ObjectLiteral>, action: Action): Promise<void> | void {
    const { metadata, entity, databaseEntity, entityId, queryRunner } = event;
    return this.#record(queryRunner, metadata, entity, () => {
      if (databaseEntity || entity || entityId !== undefined) {
        return this.deps.drafts.softChanged(metadata, action, entity, databaseEntity, entityId);
      }
      return this.#bulk(queryRunner, metadata, action, undefined, action === "update" ? deleteDateField(metadata) : undefined);
    });
  }

  #bulk(runner: QueryRunner, metadata: EntityMetadata, action: Action, set: ObjectLiteral | undefined, changes?: string[]): ChangeDraft | undefined {
    if (!this.deps.bulk) return undefined;
    return this.deps.drafts.bulk(metadata, action, this.#lastStatement(runner), set, changes);
  }

  // After-hooks run only once every statement of the operation succeeded: nothing can fail now.
  #record(runner: QueryRunner, metadata: EntityMetadata, entity: ObjectLiteral | undefined, build: () => ChangeDraft | undefined): Promise<void> | void {
    const state = this.state(runner);
    state.settled = true;
    if (entity) state.recent.push({ metadata, entity });
    if (!this.deps.wanted(metadata) || this.deps.suppressed()) return;
    let draft: ChangeDraft | undefined;
    try {
      draft = build();
    } catch (error) {
      return this.deps.onError(error);
    }
    if (!draft) return;
    const recorded = this.deps.capture.record(runner, draft).catch(this.deps.onError);
    // Inside a transaction the event is buffered synchronously: TypeORM need not await anything.
    // An autocommit write is queued for publishing now; awaiting the queue (not the broker) makes
    // the writer wait only when the producer's queue is full: backpressure.
    if (this.deps.capture.depth(runner) === 0) return recorded;
  }

  /** Remembers a write announced by a before-hook (see `FailureTrackingSubscriber`). */
  protected pend(runner: QueryRunner, metadata: EntityMetadata, action: Action, kind: PendingWrite["kind"], entity?: ObjectLiteral, databaseEntity?: ObjectLiteral): void {
    const state = this.state(runner);
    if (state.settled) this.reset(state);
    // A failed statement's afterQuery may run in whatever async context the driver's callback
    // has (TypeORM 0.3: the pooled connection's, i.e. another request's): keep the caller's.
    const where = kind === "bulk" ? currentWhere(metadata) : undefined;
    state.pending.push({ metadata, action, kind, entity, databaseEntity, where, inContext: AsyncLocalStorage.snapshot() });
  }

  async #failed(runner: QueryRunner, event: AfterQueryEvent): Promise<void> {
    const state = this.runners.get(runner);
    if (!state || state.settled || state.pending.length === 0 || this.deps.suppressed()) return;
    const statement = parseWrite(event.query, paramsOf(event.parameters), null);
    const writes = statement ? matchPending(state.pending, statement) : [];
    state.pending = [];
    for (const { metadata, action, kind, entity, databaseEntity, where, inContext } of writes) {
      if (!statement || !this.deps.wanted(metadata)) continue;
      const draft =
        kind === "bulk"
          ? this.deps.drafts.failedBulk(metadata, action, statement, entity, where)
          : this.deps.drafts.failed(metadata, action, entity, databaseEntity);
      await inContext(() => this.deps.capture.fail(runner, draft, event.error, driverInfo(event.error, metadata.tableName)));
    }
  }

  #lastStatement(runner: QueryRunner): WriteStatement | undefined {
    const last = this.runners.get(runner)?.last;
    return last && parseWrite(last.sql, last.parameters, last.affected);
  }

  #forgetPending(runner: QueryRunner): void {
    const state = this.runners.get(runner);
    if (state) this.reset(state);
  }

  // A new operation starts on the runner: the previous one's writes are history.
  private reset(state: RunnerState): void {
    state.pending = [];
    state.recent = [];
    state.settled = false;
  }

  protected state(runner: QueryRunner): RunnerState {
    let state = this.runners.get(runner);
    if (!state) this.runners.set(runner, (state = { last: undefined, pending: [], recent: [], settled: false }));
    return state;
  }
}

function paramsOf(parameters: AfterQueryEvent["parameters"]): unknown[] | undefined {
  return Array.isArray(parameters) ? parameters : parameters ? Object.values(parameters) : undefined;
}

function affectedOf(raw: unknown): number | null {
  if (typeof raw !== "object" || raw === null) return null;
  const result = raw as { rowCount?: unknown; affectedRows?: unknown };
  const value = result.rowCount ?? result.affectedRows;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : null;
}
