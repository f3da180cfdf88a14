import { AsyncLocalStorage } from "node:async_hooks";
import type { ChangeCapture, ChangeDraft, TxExecutor, TxHandle } from "@koper/core";
import { PrismaAdapterError } from "./errors.ts";
import type { RawSavepoint } from "./raw.ts";

/** Prisma's per-operation transaction info (`__internalParams.transaction`, undocumented). */
export type PrismaTxInfo = { kind: "itx"; id: string } | { kind: "batch"; id: number; index?: number } | undefined;

/** Where one write belongs: a transaction Koper saw begin, none (autocommit), or one it did not see. */
export type Placement =
  | { kind: "autocommit" }
  | { kind: "itx"; handle: TxHandle; client: unknown }
  | { kind: "batch"; batch: Batch; index: number }
  | { kind: "unseen" };

// The interactive-transaction client carries its scope under this symbol (Prisma 7 internals).
const TX_SCOPE = Symbol.for("prisma.client.transaction.scope_context");

/** A batch transaction's events, held until it commits: its items resolve in any order. */
export interface Batch {
  handle: TxHandle;
  items: { index: number; drafts: ChangeDraft[] }[];
}

interface Interactive {
  handle: TxHandle;
  /** The transaction's client: where the adapter reads rows before a write. */
  client: unknown;
  /** Savepoints set with raw SQL, innermost last. */
  savepoints: { name: string; handle: TxHandle }[];
  /** Where its writes belong: made once per transaction, not once per write. */
  place: Placement;
}

// Every autocommit write has the same placement: no object per write.
const AUTOCOMMIT: Placement = Object.freeze({ kind: "autocommit" });

/** The capture's handle of the transaction a write belongs to; undefined in autocommit. */
export function handleOf(place: Placement): TxHandle | undefined {
  if (place.kind === "itx") return place.handle;
  return place.kind === "batch" ? place.batch.handle : undefined;
}

type Original = (this: unknown, arg: unknown, options?: unknown) => Promise<unknown>;

/** The client below Koper's extension and its own `$transaction`. */
export interface Base {
  client: object;
  $transaction: Original;
}

/**
 * Follows Prisma's transactions for the capture: a top-level `$transaction(fn)` opens a
 * transaction, a `tx.$transaction(fn)` inside it a savepoint, `$transaction([...])` a batch.
 * Each resolves = committed, rejects = rolled back; events are published only then.
 */
export class TransactionTracker {
  readonly #interactive = new Map<string, Interactive>();
  readonly #batch = new AsyncLocalStorage<Batch>();
  readonly #capture: ChangeCapture;
  readonly #onError: (error: unknown) => void;
  readonly #executorOf: (tx: object) => TxExecutor;

  readonly #base: Base;

  /**
   * `executorOf` runs SQL on a transaction's client, for the in-transaction writers (outbox, audit);
   * `base` is the client below Koper's extension, with its own `$transaction`.
   */
  constructor(capture: ChangeCapture, onError: (error: unknown) => void, executorOf: (tx: object) => TxExecutor, base: Base) {
    this.#capture = capture;
    this.#onError = onError;
    this.#executorOf = executorOf;
    this.#base = base;
  }

  /**
   * Runs `send` in an interactive transaction of its own, the writers' rows last before COMMIT: for
   * an autocommit write, or a batch, when an outbox or audit is configured. The transaction is the
   * base client's (its `tx` client is far cheaper to build than one of the extended client); `send`
   * gets Prisma's transaction info and sends its queries there (`requestTransaction`), so they run
   * through the extended client's pipeline, and Koper's hook, once.
   */
  inOwnTransaction(send: (transaction: unknown) => Promise<unknown>, options?: unknown): Promise<unknown> {
    return this.#runInteractive(this.#base.$transaction, this.#base.client, async (tx) => send(await transactionOf(tx)), options);
  }

  /** Where a write with this transaction info belongs. */
  place(info: PrismaTxInfo): Placement {
    if (info === undefined) return AUTOCOMMIT;
    if (info.kind === "itx") return this.#interactive.get(info.id)?.place ?? { kind: "unseen" };
    const batch = this.#batch.getStore();
    return batch ? { kind: "batch", batch, index: info.index ?? 0 } : { kind: "unseen" };
  }

  /**
   * Follows a savepoint the application set, released or rolled back to with raw SQL, once the
   * statement ran: a rolled-back savepoint drops the events of the writes made since it was set
   * (the savepoint itself stays, as in SQL); a released one merges them into the transaction.
   */
  async savepoint(info: PrismaTxInfo, statement: RawSavepoint): Promise<void> {
    const open = info?.kind === "itx" ? this.#interactive.get(info.id) : undefined;
    if (!open) return;
    const stack = open.savepoints;
    if (statement.kind === "save") {
      const handle = {};
      this.#capture.begin(handle, { parent: open.handle });
      stack.push({ name: statement.name, handle });
      return;
    }
    const at = stack.findLastIndex((savepoint) => savepoint.name === statement.name);
    if (at < 0) return;
    const { handle } = stack[at]!;
    if (statement.kind === "release") {
      stack.splice(at);
      return this.#commit(handle);
    }
    stack.splice(at + 1);
    void this.#capture.rollback(handle); // a savepoint: the transaction goes on
    this.#capture.begin(handle, { parent: open.handle });
  }

  /** Runs Prisma's own `$transaction` on `self` (the extended client, or a transaction's client). */
  run(original: Original, self: object, arg: unknown, options: unknown): Promise<unknown> {
    const scope = (self as Record<symbol, { txId?: unknown } | undefined>)[TX_SCOPE];
    if (typeof arg !== "function") {
      // A batch has no statement of its own before COMMIT: with writers, it runs as an interactive transaction.
      if (this.#capture.writesInTransaction && typeof scope?.txId !== "string" && isPrismaPromises(arg)) {
        return this.inOwnTransaction((transaction) => sendAll(arg, transaction), options);
      }
      return this.#runBatch(original, self, arg, options);
    }
    if (typeof scope?.txId !== "string") return this.#runInteractive(original, self, arg as Callback, options);
    const outer = this.#interactive.get(scope.txId);
    // A savepoint of a transaction Koper did not see begin: its writes are reported as unseen.
    return outer ? this.#runSavepoint(original, self, outer, arg as Callback, options) : original.call(self, arg, options);
  }

  async #runInteractive(original: Original, self: object, fn: Callback, options: unknown): Promise<unknown> {
    let opened: { id: string | undefined; state: Interactive } | undefined;
    try {
      const result = await original.call(self, (tx: object) => {
        const scope = (tx as Record<symbol, { txId?: unknown } | undefined>)[TX_SCOPE];
        const id = typeof scope?.txId === "string" ? scope.txId : undefined;
        const handle: TxHandle = {};
        opened = { id, state: { handle, client: tx, savepoints: [], place: { kind: "itx", handle, client: tx } } };
        if (id) this.#interactive.set(id, opened.state);
        this.#capture.begin(handle);
        // The writers' rows are the callback's last statements: they commit or roll back with it.
        if (!this.#capture.writesInTransaction) return fn(tx);
        return fn(tx).then(async (result) => {
          await this.#capture.beforeCommit(handle, this.#executorOf(tx));
          return result;
        });
      }, options);
      if (opened) await this.#commit(opened.state.handle);
      return result;
    } catch (error) {
      // Prisma has rolled back and released the connection: the failed attempts' audit rows go in now.
      if (opened) await this.#capture.rollback(opened.state.handle);
      throw error;
    } finally {
      if (opened?.id) this.#interactive.delete(opened.id);
    }
  }

  async #runSavepoint(original: Original, self: object, outer: Interactive, fn: Callback, options: unknown): Promise<unknown> {
    let began = false;
    try {
      const result = await original.call(self, (tx: object) => {
        this.#capture.begin(outer.handle);
        began = true;
        return fn(tx);
      }, options);
      if (began) await this.#commit(outer.handle);
      return result;
    } catch (error) {
      if (began) void this.#capture.rollback(outer.handle); // a savepoint: the transaction goes on
      throw error;
    }
  }

  // Items of a batch run when Prisma sends the batch, inside this call: the store reaches them.
  // Their `query()` may resolve and the batch still roll back, so only the call's outcome counts.
  // Events are recorded in the array's order once the batch committed.
  async #runBatch(original: Original, self: object, items: unknown, options: unknown): Promise<unknown> {
    const batch: Batch = { handle: {}, items: [] };
    const result = await this.#batch.run(batch, () => original.call(self, items, options));
    if (batch.items.length === 0) return result;
    this.#capture.begin(batch.handle);
    for (const item of batch.items.sort((a, b) => a.index - b.index)) {
      for (const draft of item.drafts) this.#capture.recordBuffered(batch.handle, draft)?.catch(this.#onError);
    }
    await this.#commit(batch.handle);
    return result;
  }

  async #commit(handle: TxHandle): Promise<void> {
    try {
      await this.#capture.commit(handle);
    } catch (error) {
      this.#onError(error);
    }
  }
}

type Callback = (tx: object) => Promise<unknown>;

/** A query Prisma has not sent yet; `requestTransaction` sends it in the given transaction (Prisma 7 internals). */
export interface PrismaPromise {
  requestTransaction(transaction: unknown): PromiseLike<unknown>;
}

function isPrismaPromises(items: unknown): items is PrismaPromise[] {
  return Array.isArray(items) && items.every((item) => typeof (item as Partial<PrismaPromise> | null)?.requestTransaction === "function");
}

// A batch's queries, one after the other in the interactive transaction, as Prisma sends a batch's:
// the first failure ends it (and rolls the transaction back). Results in the array's order.
async function sendAll(items: PrismaPromise[], transaction: unknown): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const item of items) results.push(await item.requestTransaction(transaction));
  return results;
}

// The transaction info Prisma gives the queries of `tx` (`{ kind: "itx", id, payload }`): its
// promise factory is bound to it, so a promise that resolves to its own transaction yields it.
function transactionOf(tx: object): Promise<unknown> {
  const factory = (tx as { _createPrismaPromise?: (callback: (transaction: unknown) => unknown) => PromiseLike<unknown> })._createPrismaPromise;
  if (typeof factory !== "function") throw PrismaAdapterError.internalsChanged("the interactive client's _createPrismaPromise");
  return Promise.resolve(factory((transaction) => transaction));
}
