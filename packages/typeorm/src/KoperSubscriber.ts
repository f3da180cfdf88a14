import type { Action, ChangeCapture, ChangeDraft, Row, SqlDialect } from "@koper/core";
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
import { deleteDateField, idMap, type DraftFactory } from "./drafts.ts";
import { lookupJoinColumns, withUnreadColumns } from "./lookups.ts";
import { capturedEntity, isTreePathUpdate, junctionOf } from "./junctions.ts";
import { changedFields, changedManyToMany, fieldOfColumn, keyOf, missingJoinColumns, toRow } from "./rows.ts";
import type { BeforeEvent, BeforeWrites } from "./before-writes.ts";
import { freshState, type RunnerState } from "./runner-state.ts";
import { executorOf } from "./sql-client.ts";
import { affectedOf, isUpdateOf, looksLikeWrite, paramsOf, parseWrite, setColumns, type WriteStatement } from "./statements.ts";

/** What the subscriber needs from `koperTypeorm`. */
export interface SubscriberDeps {
  capture: ChangeCapture;
  drafts: DraftFactory;
  wanted: (metadata: EntityMetadata) => boolean;
  /** True inside schema sync and migrations, whose writes publish nothing. */
  suppressed: () => boolean;
  /** The DataSource's SQL dialect, asked only when a writer is configured. */
  dialect: () => SqlDialect;
  bulk: boolean;
  failures: boolean;
  softRemoveAs: "update" | "delete";
  /** Whether this error means the database rolled the whole transaction back (or will, at COMMIT). */
  abortsTransaction: (error: unknown) => boolean;
  /** sql.js reports affected rows only through its connection, right after the statement. */
  rowsModified: (() => number) | undefined;
  /** Read a to-one relation's join column with a SELECT when the saved/removed entity lacks it. */
  lookupJoinColumns: boolean;
  onError: (error: unknown) => void;
}

/**
 * The TypeORM subscriber that translates hooks into Koper's capture API. The QueryRunner is the
 * transaction handle: TypeORM runs a transaction, and its savepoints, on one runner.
 * Its only before-hook is `beforeRemove` (a row's join columns must be read before it is gone):
 * when a before-hook runs, TypeORM recomputes the operation's subjects, so failure tracking
 * (`FailureTrackingSubscriber`) hears of the other writes from the broadcaster instead.
 */
export class KoperSubscriber implements EntitySubscriberInterface, BeforeWrites {
  protected readonly deps: SubscriberDeps;
  protected readonly runners = new WeakMap<QueryRunner, RunnerState>();
  /** Join columns read by `beforeRemove`, by the entity object the after-hook will get. */
  readonly #joinColumns = new WeakMap<object, Row>();

  constructor(deps: SubscriberDeps) {
    this.deps = deps;
  }

  /**
   * TypeORM announces an operation's writes (a `save`'s subjects, a query builder's write) before
   * running its statements: the write statements seen on the runner before the first announcement
   * are not the operation's (raw SQL, or another operation's), so no row update takes its `changes`
   * from them. Statements a nested write announces mid-operation (a tree's path update) keep them.
   */
  announced(runner: QueryRunner, _metadata: EntityMetadata, _event: BeforeEvent, _entity: ObjectLiteral | undefined, _databaseEntity: ObjectLiteral | undefined): void {
    const state = this.state(runner);
    if (state.settled) this.reset(state);
    if (state.announced) return;
    state.announced = true;
    state.writes = [];
  }

  afterTransactionStart(event: TransactionStartEvent): void {
    this.deps.capture.begin(event.queryRunner);
  }

  /**
   * The in-transaction writers' handoff (outbox, audit): their rows go in with this transaction's
   * last statements. An error is not caught: TypeORM then never sends COMMIT and rolls back.
   */
  // Not async: without a writer it returns nothing, and TypeORM then has no promise to wait for.
  beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> | void {
    const runner = event.queryRunner;
    if (!this.deps.capture.writesInTransaction || this.deps.capture.depth(runner) !== 1) return;
    return this.#handOff(runner);
  }

  async #handOff(runner: QueryRunner): Promise<void> {
    await this.runners.get(runner)?.queue; // join-column lookups still building events
    await this.deps.capture.beforeCommit(runner, executorOf(runner, this.deps.dialect()));
  }

  afterTransactionCommit(event: TransactionCommitEvent): Promise<void> | void {
    const runner = event.queryRunner;
    // Attached while this transaction was already open: its start was never seen.
    if (this.deps.capture.depth(runner) === 0) return;
    this.#forgetPending(runner);
    return this.deps.capture.commit(runner).catch(this.deps.onError);
  }

  // Not awaited: the QueryRunner still holds its connection here, and the failed attempts' audit rows
  // need one (a one-connection pool, or SQLite, would wait forever). koper.settle()/stop() wait for them.
  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.#forgetPending(event.queryRunner);
    void this.deps.capture.rollback(event.queryRunner);
  }

  afterQuery(event: AfterQueryEvent): Promise<void> | void {
    const runner = event.queryRunner;
    if (event.success) {
      if (!looksLikeWrite(event.query)) return;
      const affected = this.deps.rowsModified ? this.deps.rowsModified() : affectedOf(event.rawResults);
      const state = this.state(runner);
      if (state.settled) this.reset(state);
      state.last = { sql: event.query, parameters: paramsOf(event.parameters), affected };
      state.writes.push(state.last);
      return;
    }
    if (runner.isTransactionActive && this.deps.abortsTransaction(event.error)) this.deps.capture.poison(runner);
    if (!this.deps.failures || !looksLikeWrite(event.query)) return;
    return this.failed(runner, event);
  }

  afterInsert(event: InsertEvent<ObjectLiteral>): Promise<void> | void {
    const { metadata, entity, entityId, queryRunner } = event;
    const junction = junctionOf(metadata);
    if (junction) return this.#record(queryRunner, metadata, undefined, () => this.deps.drafts.junction(metadata, junction, "insert", entityId, entity));
    return this.#record(queryRunner, metadata, entity, () => {
      const recent = this.runners.get(queryRunner)?.recent ?? [];
      const draft = entityId !== undefined ? this.deps.drafts.inserted(metadata, entity, entityId, recent) : this.deps.drafts.insertedByBuilder(metadata, entity, this.#lastStatement(queryRunner));
      if (!draft || (draft.bulk && !this.deps.bulk)) return undefined;
      return this.deps.lookupJoinColumns ? withUnreadColumns(queryRunner, metadata, draft) : draft;
    });
  }

  afterUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> | void {
    const { metadata, entity, databaseEntity, queryRunner } = event;
    return this.#record(queryRunner, metadata, entity, () => {
      if (!databaseEntity) return isTreePathUpdate(metadata, entity) ? undefined : this.#bulk(queryRunner, metadata, "update", entity);
      let matched = true;
      const changes = this.#changes(queryRunner, metadata, entity, databaseEntity, () => ((matched = false), changedFields(event.updatedColumns.filter((column) => column.isUpdate), [])));
      return this.#withJoinColumns(queryRunner, metadata, this.deps.drafts.updated(metadata, entity, databaseEntity, changes, matched));
    });
  }

  /** Reads the join columns of a row about to be removed that TypeORM did not load (see `lookupJoinColumns`). */
  beforeRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> | void {
    const { metadata, entity, databaseEntity, entityId, queryRunner } = event;
    const target = databaseEntity ?? entity;
    if (!this.deps.lookupJoinColumns || !target || junctionOf(metadata) || !this.deps.wanted(metadata) || this.deps.suppressed()) return;
    const key = keyOf(metadata, databaseEntity, entity) ?? idMap(entityId);
    if (missingJoinColumns(metadata, toRow(metadata, target)).length === 0) return;
    return lookupJoinColumns(queryRunner, metadata, toRow(metadata, target), key).then(
      (found) => void this.#joinColumns.set(target, found),
      this.deps.onError,
    );
  }

  afterRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> | void {
    const { metadata, entity, databaseEntity, entityId, queryRunner } = event;
    const junction = junctionOf(metadata);
    if (junction) {
      return this.#record(queryRunner, metadata, undefined, () => {
        const draft = this.deps.drafts.junction(metadata, junction, "delete", entityId, entity) ?? this.#bulk(queryRunner, metadata, "delete", undefined);
        return draft && { ...draft, entity: junction.name };
      });
    }
    return this.#record(queryRunner, metadata, entity, () => {
      if (!databaseEntity && !entity && entityId === undefined) return this.#bulk(queryRunner, metadata, "delete", undefined);
      const found = this.#joinColumns.get((databaseEntity ?? entity)!);
      return this.deps.drafts.removed(metadata, entity, databaseEntity, entityId, found);
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
      if (!databaseEntity && !entity && entityId === undefined) {
        return this.#bulk(queryRunner, metadata, action, undefined, action === "update" ? deleteDateField(metadata) : undefined);
      }
      const changes = this.#changes(queryRunner, metadata, entity, databaseEntity, () => deleteDateField(metadata));
      return this.#withJoinColumns(queryRunner, metadata, this.deps.drafts.softChanged(metadata, action, entity, databaseEntity, entityId, changes));
    });
  }

  /**
   * What a row update changed: the columns its UPDATE statement set (auto-updated date and
   * version columns included), plus the many-to-many relations whose junction rows it changed.
   * TypeORM's own `updatedRelations` is not used: it lists a relation loaded without its key.
   */
  #changes(runner: QueryRunner, metadata: EntityMetadata, entity: ObjectLiteral | undefined, databaseEntity: ObjectLiteral | undefined, fallback: () => string[]): string[] {
    const state = this.state(runner);
    const key = keyOf(metadata, entity, databaseEntity);
    const at = key ? state.writes.findIndex((w) => isUpdateOf(w, metadata.tableName, key)) : -1;
    const statement = at >= 0 ? state.writes.splice(at, 1)[0] : undefined;
    const columns = statement ? setColumns(statement.sql).map((column) => fieldOfColumn(metadata, column) ?? column) : fallback();
    const relations = databaseEntity ? changedManyToMany(metadata, entity, databaseEntity) : [];
    return [...new Set([...columns, ...relations])];
  }

  // A row without the join columns TypeORM did not load gets them read, before its event is built.
  #withJoinColumns(runner: QueryRunner, metadata: EntityMetadata, draft: ChangeDraft): ChangeDraft | Promise<ChangeDraft> {
    const row = draft.data ?? draft.before;
    if (!this.deps.lookupJoinColumns || !row || missingJoinColumns(metadata, row).length === 0) return draft;
    return lookupJoinColumns(runner, metadata, row, draft.key).then((found) => {
      if (draft.data) draft.data = { ...draft.data, ...found };
      if (draft.before) draft.before = { ...found, ...draft.before };
      return draft;
    });
  }

  #bulk(runner: QueryRunner, metadata: EntityMetadata, action: Action, set: ObjectLiteral | undefined, changes?: string[]): ChangeDraft | undefined {
    if (!this.deps.bulk) return undefined;
    return this.deps.drafts.bulk(metadata, action, this.#lastStatement(runner), set, changes);
  }

  // After-hooks run only once every statement of the operation succeeded: nothing can fail now.
  #record(
    runner: QueryRunner,
    metadata: EntityMetadata,
    entity: ObjectLiteral | undefined,
    build: () => ChangeDraft | undefined | Promise<ChangeDraft | undefined>,
  ): Promise<void> | void {
    const state = this.state(runner);
    state.settled = true;
    if (entity) state.recent.push({ metadata, entity });
    // A junction row is captured with the entity that owns the relation; a closure table's, never.
    const captured = capturedEntity(metadata);
    if (!captured || !this.deps.wanted(captured) || this.deps.suppressed()) return;
    let draft: ChangeDraft | undefined | Promise<ChangeDraft | undefined>;
    try {
      draft = build();
    } catch (error) {
      return this.deps.onError(error);
    }
    if (!draft) return;
    if (!(draft instanceof Promise) && !state.queue) return this.#publish(runner, draft);
    // A lookup is under way: this runner's later events wait for it, so they keep their order.
    const built = draft;
    const next = (state.queue ?? Promise.resolve())
      .then(() => built)
      .then((ready) => (ready ? this.#publish(runner, ready) : undefined))
      .catch(this.deps.onError);
    state.queue = next;
    void next.then(() => {
      if (state.queue === next) state.queue = undefined;
    });
    return next;
  }

  #publish(runner: QueryRunner, draft: ChangeDraft): Promise<void> | void {
    // Inside a transaction the event is buffered synchronously, with no promise: TypeORM need not await anything.
    const pending = this.deps.capture.recordBuffered(runner, draft);
    if (!pending) return;
    const recorded = pending.catch(this.deps.onError);
    // An autocommit write is queued for publishing now; awaiting the queue (not the broker) makes
    // the writer wait only when the producer's queue is full: backpressure.
    if (this.deps.capture.depth(runner) === 0) return recorded;
  }

  /** A write statement failed; `FailureTrackingSubscriber` publishes its failure event. */
  protected failed(_runner: QueryRunner, _event: AfterQueryEvent): Promise<void> | void {}

  #lastStatement(runner: QueryRunner): WriteStatement | undefined {
    const last = this.runners.get(runner)?.last;
    return last && parseWrite(last.sql, last.parameters, last.affected);
  }

  #forgetPending(runner: QueryRunner): void {
    const state = this.runners.get(runner);
    if (state) this.reset(state);
  }

  // A new operation starts on the runner: the previous one's writes are history.
  protected reset(state: RunnerState): void {
    state.pending = [];
    state.writes = [];
    state.recent = [];
    state.settled = false;
    state.announced = false;
  }

  protected state(runner: QueryRunner): RunnerState {
    let state = this.runners.get(runner);
    if (!state) this.runners.set(runner, (state = freshState()));
    return state;
  }
}
