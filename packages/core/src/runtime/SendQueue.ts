import { ACCEPTED, type OutgoingMessage } from "../transports/Transport.ts";

/** Told how the send of a queued batch ended: no error, or the transport's. */
export type SendOutcome = (error?: unknown) => void;

interface Entry {
  messages: OutgoingMessage[];
  outcome: SendOutcome;
}

const ROOM = Promise.resolve();
const NONE: readonly Entry[] = [];

/**
 * The producer's pipeline: sends in the order messages were queued, one transport call at a time,
 * merging everything queued while a call was under way into the next one. Callers need not await
 * the broker to keep order, writes made at once share requests, and a full queue makes callers wait.
 */
export class SendQueue {
  readonly #send: (messages: OutgoingMessage[]) => Promise<void>;
  readonly #maxQueued: number;
  readonly #maxBatch: number;
  #entries: Entry[] = [];
  #queued = 0;
  #active = false;
  /** The batch the transport is sending now (its entries are told the outcome). */
  #batch: readonly Entry[] = NONE;
  #spaceWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  // Bound once: a send costs no closure per batch.
  readonly #drain = () => this.#next();
  readonly #sent = () => this.#settle(undefined);
  readonly #failed = (error: unknown) => this.#settle(error ?? new Error("send failed"));

  constructor(send: (messages: OutgoingMessage[]) => Promise<void>, options: { maxQueued: number; maxBatch: number }) {
    this.#send = send;
    this.#maxQueued = options.maxQueued;
    this.#maxBatch = options.maxBatch;
  }

  /**
   * Queues `messages` behind everything queued before; `outcome` is called once their send ends.
   * Resolves once they are queued: at once, unless the queue is full (then it waits for room).
   */
  enqueue(messages: OutgoingMessage[], outcome: SendOutcome): Promise<void> {
    if (this.#queued < this.#maxQueued) {
      this.#push(messages, outcome);
      return ROOM; // the common case allocates no promise
    }
    return this.#enqueueWhenRoom(messages, outcome);
  }

  /** Queues `messages` and resolves when the transport accepted them, or rejects with its error. */
  send(messages: OutgoingMessage[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      void this.enqueue(messages, (error) => (error === undefined ? resolve() : reject(error)));
    });
  }

  /** Resolves when everything queued so far has been sent (or has failed). */
  flush(): Promise<void> {
    if (!this.#active) return ROOM;
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Fails every entry not yet handed to the transport with `error`; returns how many messages they held. */
  abort(error: unknown): number {
    const entries = this.#entries;
    this.#entries = [];
    let count = 0;
    for (const entry of entries) count += entry.messages.length;
    this.#queued -= count;
    for (const entry of entries) entry.outcome(error);
    if (this.#spaceWaiters.length > 0) for (const wake of this.#spaceWaiters.splice(0)) wake();
    return count;
  }

  async #enqueueWhenRoom(messages: OutgoingMessage[], outcome: SendOutcome): Promise<void> {
    while (this.#queued >= this.#maxQueued) await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    this.#push(messages, outcome);
  }

  #push(messages: OutgoingMessage[], outcome: SendOutcome): void {
    this.#entries.push({ messages, outcome });
    this.#queued += messages.length;
    if (!this.#active) {
      this.#active = true;
      // Let the writes of the current tick join the first request.
      void ROOM.then(this.#drain);
    }
  }

  // One transport call for the next batch; `#settle` tells its entries and goes on (a promise
  // chain with handlers bound once, not an async loop: one tick and no frame per batch).
  #next(): void {
    for (;;) {
      if (this.#entries.length === 0) return this.#idle();
      const batch = (this.#batch = this.#take());
      const messages = batch.length === 1 ? batch[0]!.messages : batch.flatMap((entry) => entry.messages);
      // Markers (empty entries, see Producer.flushQueued) cost no transport call.
      if (messages.length === 0) {
        this.#tell(undefined);
        continue;
      }
      let sending: Promise<void>;
      try {
        sending = this.#send(messages);
      } catch (error) {
        sending = Promise.reject(error);
      }
      if (sending !== ACCEPTED) return void sending.then(this.#sent, this.#failed);
      // Accepted before `send` returned (in-process): told now, as `#settle` would one reaction later.
      try {
        this.#tell(undefined);
      } catch (error) {
        this.#next();
        throw error;
      }
    }
  }

  #settle(error: unknown): void {
    try {
      this.#tell(error);
    } finally {
      this.#next();
    }
  }

  #tell(error: unknown): void {
    const batch = this.#batch;
    this.#batch = NONE;
    for (const entry of batch) entry.outcome(error);
  }

  // In the same step as the last look at the queue: an enqueue after this starts a new drain, one
  // before it was seen by the loop. (Clearing the flag a step later lost entries.)
  #idle(): void {
    this.#active = false;
    if (this.#idleWaiters.length > 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #take(): Entry[] {
    let count = 0;
    let n = 0;
    while (n < this.#entries.length && (n === 0 || count + this.#entries[n]!.messages.length <= this.#maxBatch)) {
      count += this.#entries[n]!.messages.length;
      n++;
    }
    const batch = n === this.#entries.length ? this.#entries : this.#entries.slice(0, n);
    this.#entries = n === this.#entries.length ? [] : this.#entries.slice(n);
    this.#queued -= count;
    if (this.#spaceWaiters.length > 0) for (const wake of this.#spaceWaiters.splice(0)) wake();
    return batch;
  }
}
