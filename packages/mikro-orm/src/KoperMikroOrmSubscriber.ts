import { isSilenced, type ChangeCapture, type ChangeDraft, type DatabaseFamily, type DriverErrorInfo, type TxHandle } from "@koper/core";
import type { AnyEntity, ChangeSet, EntityManager, EntityMetadata, EventArgs, EventSubscriber, FlushEventArgs, TransactionEventArgs, UnitOfWork } from "@mikro-orm/core";
import type { DraftFactory } from "./drafts.ts";
import { dialectOf, executorOf } from "./sql-client.ts";

type Meta = EntityMetadata<AnyEntity>;

/** What the subscriber needs from `koperMikroOrm`. */
export interface SubscriberDeps {
  capture: ChangeCapture;
  drafts: DraftFactory;
  wanted: (metadata: Meta) => boolean;
  bulk: boolean;
  failures: boolean;
  /** Read the row of a removed entity MikroORM never loaded before the flush deletes it (`lookupJoinColumns`). */
  lookupJoinColumns: boolean;
  /** The database family (MySQL/MariaDB report whether an upsert inserted or updated). */
  family: DatabaseFamily;
  /** Whether a failed statement means the transaction cannot commit (core's policy, or the option). */
  abortsTransaction: (info: DriverErrorInfo) => boolean;
  onError: (error: unknown) => void;
}

// Units of work remembered at once (flushes or transactions in flight, plus failed ones not yet forgotten).
const MAX_FLUSHING = 1000;

/** Marks Koper's subscriber, so a second attachment and the native-write wrappers can find it. */
export const KOPER_SUBSCRIBER = Symbol.for("koper.mikro-orm.subscriber");

/**
 * The MikroORM event subscriber that translates hooks into Koper's capture API. The transaction
 * object MikroORM hands its transaction events (and row hooks through `em.getTransactionContext()`)
 * is the transaction handle; a savepoint gets an object of its own, linked to its parent (which
 * `beforeTransactionStart` names) with `capture.begin(savepoint, { parent })`.
 * It implements after-hooks only: a before-hook makes MikroORM snapshot and diff every entity.
 */
export class KoperMikroOrmSubscriber implements EventSubscriber {
  readonly [KOPER_SUBSCRIBER] = true;
  /** False once detached: every hook is then a no-op. */
  active = true;
  #deps: SubscriberDeps | undefined;
  readonly #bind: (em: EntityManager) => SubscriberDeps;
  // The transaction a `transactional`/`begin` on this em nests in, between its two start events.
  readonly #parents = new WeakMap<EntityManager, TxHandle | undefined>();
  // A failed flush statement's payload is found among the change sets of the unit of work that
  // flushes in its transaction (on failure only: nothing is indexed on the way of a successful flush).
  // A Map, not a WeakMap: an entry per short-lived transaction costs a WeakMap's garbage collection
  // more than the delete at its end costs here.
  readonly #units = new Map<TxHandle, UnitOfWork>();
  // A savepoint's, in a WeakMap: MariaDB fires no event when one is released, so nothing would delete it.
  readonly #savepointUnits = new WeakMap<TxHandle, UnitOfWork>();
  // The units of work flushing now, for flushes outside any transaction (see `flushOutsideTransactions`).
  readonly #flushing = new Set<UnitOfWork>();

  // Present only while flushes outside a transaction are tracked: MikroORM dispatches an event only
  // to the subscribers that have its hook, and every flush pays for each dispatch.
  declare onFlush?: (args: FlushEventArgs) => void;
  declare afterFlush?: (args: FlushEventArgs) => void;

  /**
   * `bind` makes the settings from the ORM the subscriber first sees (its database, its entities):
   * given to `MikroORM.init({ subscribers })`, the subscriber exists before the ORM does.
   */
  constructor(bind: (em: EntityManager) => SubscriberDeps) {
    this.#bind = bind;
  }

  /**
   * Adds the flush hooks, which find a failed statement's change set when a flush runs in no
   * transaction (without them such a statement is reported from its payload alone). Call it before
   * the subscriber is registered: MikroORM reads which hooks a subscriber has once, then.
   */
  trackFlushesOutsideTransactions(): void {
    this.onFlush = (args) => {
      if (this.bindTo(args.em) && this.deps.failures) remember(this.#flushing, args.uow, args.uow);
    };
    this.afterFlush = (args) => void this.#flushing.delete(args.uow);
  }

  /** Binds to the ORM of `em` if not yet bound; true when the subscriber captures (bound and attached). */
  bindTo(em: EntityManager): boolean {
    this.#deps ??= this.#bind(em);
    return this.active;
  }

  /** Whether it is bound to an ORM yet. */
  get bound(): boolean {
    return this.#deps !== undefined;
  }

  private get deps(): SubscriberDeps {
    if (!this.#deps) throw new Error("KoperMikroOrmSubscriber used before it was bound to an ORM");
    return this.#deps;
  }

  // Only a savepoint has a parent: a top-level start (no transaction yet) remembers nothing.
  beforeTransactionStart(args: TransactionEventArgs): void {
    if (this.bindTo(args.em) && args.transaction) this.#parents.set(args.em, args.transaction);
  }

  afterTransactionStart(args: TransactionEventArgs): void {
    const tx = args.transaction as (TxHandle & { savepointName?: string }) | undefined;
    if (!this.bindTo(args.em) || !tx) return;
    // The unit of work of the em the transaction is opened on: the one whose flush runs in it.
    if (args.uow && this.deps.failures) {
      if (tx.savepointName) this.#savepointUnits.set(tx, args.uow);
      else remember(this.#units, tx, args.uow);
    }
    if (!tx.savepointName) return this.deps.capture.begin(tx);
    const parent = this.#parents.get(args.em);
    this.#parents.delete(args.em);
    this.deps.capture.begin(tx, { parent });
  }

  /**
   * The in-transaction writers' handoff (outbox, audit), on the outermost transaction only (a
   * savepoint is a level of its parent's). An error is not caught: MikroORM then rolls back.
   */
  // Not async: without in-transaction writers (direct mode) a commit costs MikroORM no promise of ours.
  beforeTransactionCommit(args: TransactionEventArgs): Promise<void> | void {
    const tx = args.transaction as (TxHandle & { savepointName?: string }) | undefined;
    if (!tx || tx.savepointName || !this.bound || !this.deps.capture.writesInTransaction) return;
    return this.deps.capture.beforeCommit(tx, executorOf(args.em, tx as never, dialectOf(args.em)));
  }

  afterTransactionCommit(args: TransactionEventArgs): Promise<void> | void {
    const tx = args.transaction;
    if (tx) this.#units.delete(tx);
    // Attached while this transaction was already open: its start was never seen.
    if (!tx || !this.bound || this.deps.capture.depth(tx) === 0) return;
    return this.deps.capture.commit(tx).catch(this.deps.onError);
  }

  // MikroORM fires this after ROLLBACK, with the connection given back: the failed attempts' audit rows
  // are written before em.flush()/transactional() rejects (capture.rollback never rejects).
  async afterTransactionRollback(args: TransactionEventArgs): Promise<void> {
    if (args.uow) this.#flushing.delete(args.uow);
    if (args.transaction) {
      this.#units.delete(args.transaction);
      this.#savepointUnits.delete(args.transaction);
    }
    if (args.transaction && this.bound) await this.deps.capture.rollback(args.transaction);
  }

  // Row hooks run once per flushed row: no closure, one draft, and nothing awaited inside a transaction.
  afterCreate(args: EventArgs<AnyEntity>): Promise<void> | void {
    if (this.#captures(args)) return this.#row(args, "insert");
  }

  afterUpdate(args: EventArgs<AnyEntity>): Promise<void> | void {
    if (args.changeSet && this.#captures(args)) return this.#row(args, "update");
  }

  afterDelete(args: EventArgs<AnyEntity>): Promise<void> | void {
    if (this.#captures(args)) return this.#row(args, "delete");
  }

  /** The change set whose payload a failed flush statement in `tx` carried, among the flushing units of work. */
  flushedChangeSet(payload: unknown, tx: TxHandle | undefined): ChangeSet<AnyEntity> | undefined {
    if (typeof payload !== "object" || payload === null) return undefined;
    const unit = tx && (this.#units.get(tx) ?? this.#savepointUnits.get(tx));
    for (const uow of unit ? [unit, ...this.#flushing] : this.#flushing) {
      const found = uow.getChangeSets().find((changeSet) => changeSet.payload === payload);
      if (found) return found;
    }
    return undefined;
  }

  /** The change set of a row a failed DELETE of the flush in `tx` removed, by its primary key. */
  deletedChangeSet(meta: Meta, key: unknown, tx: TxHandle | undefined): ChangeSet<AnyEntity> | undefined {
    const unit = tx && (this.#units.get(tx) ?? this.#savepointUnits.get(tx));
    for (const uow of unit ? [unit, ...this.#flushing] : this.#flushing) {
      const found = uow.getChangeSets().find((changeSet) => changeSet.type === "delete" && changeSet.meta === meta && sameKey(changeSet.getPrimaryKey(), key));
      if (found) return found;
    }
    return undefined;
  }

  /** Whether writes of this entity are captured now (attached, wanted, not inside a migration). */
  captures(meta: Meta | undefined): meta is Meta {
    return this.active && this.bound && meta !== undefined && this.deps.wanted(meta) && !isSilenced();
  }

  /** The adapter's settings, for the native-write and failure wrappers. */
  get settings(): SubscriberDeps {
    return this.deps;
  }

  /**
   * Records a successful write. Inside a transaction the event is buffered synchronously; an
   * autocommit write's event is queued for publishing, and awaiting that queue (not the broker)
   * makes the writer wait only when the producer's queue is full: backpressure.
   */
  record(tx: TxHandle | undefined, draft: ChangeDraft): Promise<void> | void {
    const pending = this.deps.capture.recordBuffered(tx, draft);
    if (!pending) return; // buffered in the open transaction: no promise made
    const recorded = pending.catch(this.deps.onError);
    if (this.deps.capture.depth(tx) === 0) return recorded;
  }

  /** Publishes the failure event of a write the database refused, and marks its transaction if it cannot commit now. */
  async fail(tx: TxHandle | undefined, drafts: ChangeDraft[], error: unknown, info: DriverErrorInfo): Promise<void> {
    if (!this.deps.failures) return;
    for (const draft of drafts) await this.deps.capture.fail(tx, draft, error, info).catch(this.deps.onError);
  }

  /** Marks the transaction poisoned when the failure leaves it unable to commit (PostgreSQL, a deadlock). */
  poisonIfAborted(tx: TxHandle | undefined, info: DriverErrorInfo): void {
    if (this.active && this.bound && tx && this.deps.abortsTransaction(info)) this.deps.capture.poison(tx);
  }

  #captures(args: EventArgs<AnyEntity>): boolean {
    return this.bindTo(args.em) && this.captures(args.meta);
  }

  #row(args: EventArgs<AnyEntity>, action: "insert" | "update" | "delete"): Promise<void> | void {
    const { drafts } = this.deps;
    let draft: ChangeDraft;
    try {
      if (action === "insert") draft = drafts.inserted(args.meta, args.entity);
      else if (action === "delete") draft = drafts.deleted(args.meta, args.entity);
      else draft = drafts.updated(args.meta, args.entity, args.changeSet!.payload, args.changeSet!.originalEntity);
    } catch (error) {
      return this.deps.onError(error);
    }
    return this.record(args.em.getTransactionContext(), draft);
  }
}

// A delete's key as the driver got it (`5`, `"uuid"`) against the change set's (a composite key is an array).
function sameKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === "object" && a !== null && JSON.stringify(a) === JSON.stringify(b);
}

// Adds an entry, forgetting the oldest beyond MAX_FLUSHING: a failed flush fires no afterFlush,
// and a transaction whose rollback failed fires no end event.
function remember<K, V>(entries: Map<K, V> | Set<K>, key: K, value: V): void {
  if (entries instanceof Map) entries.set(key, value);
  else entries.add(key);
  if (entries.size > MAX_FLUSHING) entries.delete(entries.keys().next().value!);
}
