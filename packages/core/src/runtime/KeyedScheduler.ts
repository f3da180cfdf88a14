import { DeliveryError } from "../errors.ts";

interface Queued {
  task: () => Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface KeyChain {
  /** Tasks waiting behind the running one, in submission order. */
  queue: Queued[];
  // Set when a task of this chain rejected: what was queued behind it is not run.
  rejected: { error: unknown } | undefined;
}

/**
 * Runs tasks of one key one after another, in submission order, and tasks of different keys
 * concurrently. The caller bounds how many are outstanding.
 *
 * A rejected task stops its key's chain: tasks queued behind it reject with
 * `DeliveryError.heldBehindRejected` without running, until the chain has drained. A transport
 * redelivers a rejected message and everything after it, in order, so the key's next task to run
 * is the redelivered one, never a later message that overtook it.
 */
export class KeyedScheduler {
  readonly #chains = new Map<string, KeyChain>();

  /** Number of keys with work queued or running. */
  get activeKeys(): number {
    return this.#chains.size;
  }

  /** Queues `task` behind the previous task of `key`; resolves or rejects with it. */
  run(key: string, task: () => Promise<void>): Promise<void> {
    const chain = this.#chains.get(key);
    if (chain) return new Promise<void>((resolve, reject) => void chain.queue.push({ task, resolve, reject }));
    // A key with nothing running (the common case) runs at once: no promise chain, no closure.
    const fresh: KeyChain = { queue: [], rejected: undefined };
    this.#chains.set(key, fresh);
    return this.#start(key, fresh, task);
  }

  async #start(key: string, chain: KeyChain, task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      chain.rejected ??= { error };
      throw error;
    } finally {
      this.#next(key, chain);
    }
  }

  // The task after the one that ended starts now; behind a rejected one, each is rejected unrun.
  // When none is left, the key is forgotten (and with it the rejection).
  #next(key: string, chain: KeyChain): void {
    for (let item = chain.queue.shift(); item; item = chain.queue.shift()) {
      if (chain.rejected) {
        item.reject(DeliveryError.heldBehindRejected(chain.rejected.error));
        continue;
      }
      this.#start(key, chain, item.task).then(item.resolve, item.reject);
      return;
    }
    this.#chains.delete(key);
  }
}
