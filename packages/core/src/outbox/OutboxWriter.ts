import type { InTransactionWriter, TxExecutor } from "../capture/in-transaction.ts";
import type { DataEvent } from "../envelope/DataEvent.ts";
import type { OutboxStore } from "./OutboxStore.ts";

/** The outbox as an in-transaction writer: the events' rows go in the app's transaction, the relay publishes them. */
export class OutboxWriter implements InTransactionWriter {
  readonly takesOverPublishing = true;
  readonly #store: OutboxStore;
  readonly #topicFor: (entity: string) => string;
  readonly #committed: () => void;

  /** `committed` is told when rows this process wrote have committed (the relay wakes at once). */
  constructor(store: OutboxStore, topicFor: (entity: string) => string, committed: () => void) {
    this.#store = store;
    this.#topicFor = topicFor;
    this.#committed = committed;
  }

  write(events: readonly DataEvent[], tx: TxExecutor): Promise<void> {
    return this.#store.insert(events, this.#topicFor, tx);
  }

  afterCommit(): void {
    this.#committed();
  }
}
