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
    const tail = current.then(noop, noop);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return current;
  }
}

function noop(): void {}
