import { messageOf } from "../errors.ts";
import { createLogger, type KoperLogger } from "../observability/logger.ts";
import type { SqlClient } from "../capture/in-transaction.ts";
import type { OutboxStore, PendingRow } from "./OutboxStore.ts";

/** How the relay paces itself; every field has a default. */
export interface OutboxRelayOptions {
  /** Most rows published per round (one transaction). Default 1,000. */
  batchSize?: number;
  /**
   * How often an idle relay looks for rows. Default 1,000 ms; a relay also wakes at once when this
   * process commits outbox rows, and on PostgreSQL when any process does (LISTEN/NOTIFY).
   */
  pollIntervalMs?: number;
  /** First wait after a failed round (transport down); doubles up to `maxBackoffMs`. Default 100 ms. */
  backoffMs?: number;
  /** Longest wait between retries: the relay retries for as long as the outage lasts. Default 10,000 ms. */
  maxBackoffMs?: number;
  /** With `retentionMs`, how often done rows past it are deleted. Default 60,000 ms. */
  expireEveryMs?: number;
  /** Keep done rows this long (ms). Default 0: deleted when published. */
  retentionMs?: number;
  /**
   * Where a failed round is logged (at most every 30 s) when there is no `onError`, and a LISTEN
   * connection that broke (at most every 30 s; it is opened again); Koper passes its own `logger`.
   */
  logger?: KoperLogger;
  /** Told about each failed round (the rows stay pending and are retried). Default: a warning on `logger`, at most every 30 s. */
  onError?: (error: unknown, failures: number) => void;
}

/** Publishes a batch of rows (oldest first); resolves once the transport accepted them all. */
export type DeliverRows = (rows: PendingRow[]) => Promise<void>;

/**
 * Publishes outbox rows through the producer, oldest first, marks them done in the same
 * transaction that holds their buckets (so no other relay publishes them, or a later row of their
 * keys, meanwhile), and backs off and retries while the transport is down: a row is done only once
 * the transport accepted it (at-least-once).
 */
export class OutboxRelay {
  readonly #store: OutboxStore;
  readonly #deliver: DeliverRows;
  readonly #client: SqlClient | undefined;
  readonly #channel: string | undefined;
  readonly #options: Required<Omit<OutboxRelayOptions, "onError" | "logger">> & { onError: OutboxRelayOptions["onError"] | undefined };
  readonly #logger: KoperLogger;
  #loop: Promise<void> | undefined;
  #running = false;
  #wake: (() => void) | undefined;
  #woken = false;
  #unlisten: (() => Promise<void>) | undefined;
  #lastExpire = 0;
  #lastWarning = 0;
  #lastListenWarning = 0;

  constructor(store: OutboxStore, deliver: DeliverRows, options: OutboxRelayOptions = {}, listen?: { client: SqlClient; channel: string }) {
    this.#store = store;
    this.#deliver = deliver;
    this.#client = listen?.client;
    this.#channel = listen?.channel;
    this.#options = {
      batchSize: options.batchSize ?? 1000,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      backoffMs: options.backoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      expireEveryMs: options.expireEveryMs ?? 60_000,
      retentionMs: options.retentionMs ?? 0,
      onError: options.onError,
    };
    this.#logger = options.logger ?? createLogger();
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts publishing in the background (and, on PostgreSQL, listening for commits of other processes). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    if (this.#client?.listen && this.#channel) {
      // No LISTEN (a driver without one, a refused connection): the relay still polls.
      const broke = (error: unknown) => this.#listenBroke(error);
      this.#unlisten = await this.#client.listen(this.#channel, () => this.wake(), broke).catch((error: unknown) => {
        this.#logger.warn(`[koper] the outbox relay cannot LISTEN on "${this.#channel}"; it polls every ${this.#options.pollIntervalMs} ms instead: ${messageOf(error)}`);
        return undefined;
      });
    }
    this.#loop = this.#run();
  }

  /** Stops after the round under way (its rows are done, or stay pending for the next relay). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.wake();
    await this.#loop;
    await this.#unlisten?.().catch(() => {});
    this.#unlisten = undefined;
  }

  /** Looks for rows now instead of at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** One round: claims up to `batchSize` pending rows, publishes them, marks them done; resolves to how many. Rejects when publishing failed. */
  runOnce(): Promise<number> {
    return this.#store.claim(this.#options.batchSize, this.#deliver);
  }

  /** Runs rounds until none finds a row; resolves to the rows published. Rejects when publishing failed. */
  async drain(): Promise<number> {
    let total = 0;
    for (let n = await this.runOnce(); n > 0; n = await this.runOnce()) total += n;
    return total;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      this.#woken = false;
      let published = 0;
      try {
        published = await this.runOnce();
        failures = 0;
        await this.#expire();
      } catch (error) {
        failures++;
        this.#report(error, failures);
        await this.#sleep(Math.min(this.#options.maxBackoffMs, this.#options.backoffMs * 2 ** (failures - 1)), false);
        continue;
      }
      if (published === 0 && !this.#woken) await this.#sleep(this.#options.pollIntervalMs, true);
    }
  }

  async #expire(): Promise<void> {
    const { retentionMs, expireEveryMs } = this.#options;
    if (retentionMs <= 0 || Date.now() - this.#lastExpire < expireEveryMs) return;
    this.#lastExpire = Date.now();
    await this.#store.expire(Date.now() - retentionMs);
  }

  // An idle wait ends early on wake(); a backoff only on stop().
  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = () => {
        if (wakeable || !this.#running) done();
      };
    });
  }

  // The listener opens its connection again on its own (and wakes the relay then); meanwhile the poll finds other processes' rows.
  #listenBroke(error: unknown): void {
    if (Date.now() - this.#lastListenWarning < 30_000) return;
    this.#lastListenWarning = Date.now();
    this.#logger.warn(`[koper] the outbox relay's LISTEN connection on "${this.#channel}" failed; it polls every ${this.#options.pollIntervalMs} ms until it listens again: ${messageOf(error)}`);
  }

  #report(error: unknown, failures: number): void {
    if (this.#options.onError) return this.#options.onError(error, failures);
    if (Date.now() - this.#lastWarning < 30_000) return;
    this.#lastWarning = Date.now();
    this.#logger.warn(`[koper] the outbox relay could not publish (attempt ${failures}); rows stay pending and are retried: ${messageOf(error)}`);
  }
}
