import { AsyncLocalStorage } from "node:async_hooks";
import type { ChangeCapture, ChangeDraft, TxExecutor, TxHandle } from "@koper/core";

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
  /** Where its writes belong: made once per transaction, not once per write. */
  place: Placement;
}

// Every autocommit write has the same placement: no object per write.
const AUTOCOMMIT: Placement = Object.freeze({ kind: "autocommit" });

type Original = (this: unknown, arg: unknown, options?: unknown) => Promise<unknown>;

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

  /** `executorOf` runs SQL on a transaction's client, for the in-transaction writers (outbox, audit). */
  constructor(capture: ChangeCapture, onError: (error: unknown) => void, executorOf: (tx: object) => TxExecutor) {
    this.#capture = capture;
    this.#onError = onError;
    this.#executorOf = executorOf;
  }

  /** Where a write with this transaction info belongs. */
  place(info: PrismaTxInfo): Placement {
    if (info === undefined) return AUTOCOMMIT;
    if (info.kind === "itx") return this.#interactive.get(info.id)?.place ?? { kind: "unseen" };
    const batch = this.#batch.getStore();
    return batch ? { kind: "batch", batch, index: info.index ?? 0 } : { kind: "unseen" };
  }

  /** Runs Prisma's own `$transaction` on `self` (the extended client, or a transaction's client). */
  run(original: Original, self: object, arg: unknown, options: unknown): Promise<unknown> {
    if (typeof arg !== "function") return this.#runBatch(original, self, arg, options);
    const scope = (self as Record<symbol, { txId?: unknown } | undefined>)[TX_SCOPE];
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
        opened = { id, state: { handle, client: tx, place: { kind: "itx", handle, client: tx } } };
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
      if (opened) this.#capture.rollback(opened.state.handle);
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
      if (began) this.#capture.rollback(outer.handle);
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
      for (const draft of item.drafts) this.#capture.record(batch.handle, draft).catch(this.#onError);
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
