/**
 * Bounds the messages one subscription has handed to the runtime and not seen finish, across all
 * of its partitions (core's `Subscription.maxInFlight`). Slots are handed over in FIFO order.
 */
export class InFlightLimit {
  readonly #waiters: (() => void)[] = [];
  #free: number;

  constructor(max: number) {
    // A limit below one would stall the partition forever: treat it as one.
    this.#free = Number.isFinite(max) ? Math.max(1, Math.floor(max)) : 1;
  }

  /** Takes a slot if one is free, without waiting. */
  tryAcquire(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  /** Resolves once a slot is taken for the caller. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Gives a slot back: straight to the oldest waiter, if any. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}
