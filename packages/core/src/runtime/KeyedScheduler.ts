import { DeliveryError } from "../errors.ts";

interface KeyChain {
  tail: Promise<void>;
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
    let chain = this.#chains.get(key);
    let current: Promise<void>;
    if (chain) {
      const queued = chain;
      // Inline, not a named const: tsx (keepNames) would wrap a named per-call arrow in __name().
      current = chain.tail.then(() => (queued.rejected ? Promise.reject(DeliveryError.heldBehindRejected(queued.rejected.error)) : task()));
    } else {
      chain = { tail: Promise.resolve(), rejected: undefined };
      this.#chains.set(key, chain);
      current = task();
    }
    const owner = chain;
    // The tail settles after `current`, marks the chain on rejection, and forgets the key if nothing queued behind.
    const tail: Promise<void> = current.then(
      () => this.#settle(key, owner, tail),
      (error: unknown) => {
        owner.rejected ??= { error };
        this.#settle(key, owner, tail);
      },
    );
    owner.tail = tail;
    return current;
  }

  #settle(key: string, chain: KeyChain, tail: Promise<void>): void {
    if (chain.tail === tail && this.#chains.get(key) === chain) this.#chains.delete(key);
  }
}
