import { now } from "../capture/build-event.ts";
import type { ChangeCapture } from "../capture/ChangeCapture.ts";
import type { SqlClient } from "../capture/in-transaction.ts";
import type { KoperLogger } from "../observability/logger.ts";
import type { Producer } from "../runtime/Producer.ts";
import type { Transport } from "../transports/Transport.ts";
import type { OutboxOptions } from "./index.ts";
import { OutboxRelay } from "./OutboxRelay.ts";
import { SqlOutboxStore } from "./OutboxStore.ts";
import { OutboxWriter } from "./OutboxWriter.ts";
import { storedMessages } from "./stored-messages.ts";

/** What the outbox needs of its Koper. */
export interface OutboxHost {
  capture: ChangeCapture;
  producer: Producer;
  transport: Transport;
  maxPayloadBytes: number;
  logger: KoperLogger;
  topicFor: (entity: string) => string;
  /** Connects the transport once; rejects when Koper is stopped. */
  ready: () => Promise<void>;
}

/**
 * Wires the outbox into a Koper: the writer that puts a committing transaction's events in the table
 * (and wakes the relay after COMMIT), and the relay that publishes the rows through the producer,
 * listening on `client` (PostgreSQL) for commits of other processes.
 */
export function attachOutbox(host: OutboxHost, client: SqlClient, options: OutboxOptions): OutboxRelay {
  const store = options.store ?? new SqlOutboxStore(client, options);
  const channel = store instanceof SqlOutboxStore ? store.channel : undefined;
  const inProcess = host.transport.inProcess === true;
  const relay = new OutboxRelay(
    store,
    async (rows) => {
      await host.ready();
      const batch = storedMessages(rows, { inProcess, maxPayloadBytes: host.maxPayloadBytes, published: now() });
      for (const row of batch.unsendable) host.producer.unsendable(row.topic, [row.id], row.error);
      await host.producer.deliver(batch.messages, batch.sent);
    },
    { logger: host.logger, ...options },
    channel ? { client, channel } : undefined,
  );
  host.capture.use(new OutboxWriter(store, host.topicFor, () => relay.wake()), client);
  return relay;
}
