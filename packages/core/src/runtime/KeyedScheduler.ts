/**
 * Runs tasks of one key one after another, in submission order, and tasks of different keys
 * concurrently. The caller bounds how many are outstanding.
 */
export class KeyedScheduler {
  readonly #tails = new Map<string, Promise<void>>();

  /** Number of keys with work queued or running. */
  get activeKeys(): number {
    return this.#tails.size;
  }

  /** Queues `task` behind the previous task of `key`; resolves or rejects with it. */
  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.#tails.get(key);
    const current = previous ? previous.then(task, task) : task();
    // The tail settles after `current`, whatever its outcome, and forgets the key if nothing queued behind.
    const settle = () => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    const tail: Promise<void> = current.then(settle, settle);
    this.#tails.set(key, tail);
    return current;
  }
}
