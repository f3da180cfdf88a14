import type { OutgoingMessage } from "../transports/Transport.ts";

interface Entry {
  messages: OutgoingMessage[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** What `enqueue` gives back once the messages are queued: the outcome of their send. */
export interface Queued {
  /** Resolves when the transport accepted the messages, rejects with its error. */
  done: Promise<void>;
}

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
  #running: Promise<void> = Promise.resolve();
  #active = false;
  #spaceWaiters: (() => void)[] = [];

  constructor(send: (messages: OutgoingMessage[]) => Promise<void>, options: { maxQueued: number; maxBatch: number }) {
    this.#send = send;
    this.#maxQueued = options.maxQueued;
    this.#maxBatch = options.maxBatch;
  }

  /** Queues `messages` behind everything queued before; waits first while the queue is full. */
  async enqueue(messages: OutgoingMessage[]): Promise<Queued> {
    while (this.#queued >= this.#maxQueued) await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    let entry!: Entry;
    const done = new Promise<void>((resolve, reject) => (entry = { messages, resolve, reject }));
    this.#entries.push(entry);
    this.#queued += messages.length;
    if (!this.#active) {
      this.#active = true;
      this.#running = this.#run();
    }
    return { done };
  }

  /** Resolves when everything queued so far has been sent (or has failed). */
  async flush(): Promise<void> {
    while (this.#active) await this.#running;
  }

  async #run(): Promise<void> {
    try {
      // Let the writes of the current tick join the first request.
      await Promise.resolve();
      while (this.#entries.length > 0) {
        const batch = this.#take();
        try {
          await this.#send(batch.flatMap((entry) => entry.messages));
          for (const entry of batch) entry.resolve();
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      // In the same step as the last look at the queue: an enqueue after this starts a new run,
      // one before it was seen by the loop. (Clearing it in a later .finally() lost entries.)
      this.#active = false;
    }
  }

  #take(): Entry[] {
    let count = 0;
    let n = 0;
    while (n < this.#entries.length && (n === 0 || count + this.#entries[n]!.messages.length <= this.#maxBatch)) {
      count += this.#entries[n]!.messages.length;
      n++;
    }
    const batch = this.#entries.splice(0, n);
    this.#queued -= count;
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    return batch;
  }
}
