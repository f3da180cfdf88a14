import { createLogger, type KoperLogger, type OutgoingMessage, type Subscription, type SubscriptionHandle, type Transport } from "@koper/core";
import { CompressionTypes, Kafka, Partitioners, type Admin, type Message, type Producer, type TopicMessages } from "kafkajs";
import { isUnknownTopic, KafkaTransportError } from "./errors.ts";
import { chunksOf, type ChunkBuilder } from "./chunks.ts";
import { registerZstd } from "./compression.ts";
import { KafkaSubscription } from "./KafkaSubscription.ts";
import { Members } from "./Members.ts";
import { kafkajsLogCreator } from "./kafkajs-logs.ts";
import { toKafkaMessage } from "./messages.ts";
import { ProducedPartitions } from "./ProducedPartitions.ts";
import { describeBrokers, resolveOptions, type KafkaTransportOptions, type ResolvedOptions } from "./options.ts";
import { kafkajsOffsets, kafkajsTopicAdmin } from "./kafkajs-admin.ts";
import { TopicCreator } from "./TopicCreator.ts";

/**
 * Koper's Kafka transport on kafkajs: `new Koper({ transport: new KafkaTransport({ brokers }) })`.
 * One idempotent producer (acks all, one request per `send`), and one consumer-group member per
 * listener group, committing only what the listener runtime finished (at-least-once).
 */
export class KafkaTransport implements Transport {
  readonly name = "kafka";
  /** The kafkajs client, for anything Koper does not wrap (admin tasks, instrumentation events). */
  readonly kafka: Kafka;
  readonly #options: ResolvedOptions;
  readonly #producer: Producer;
  readonly #topics: TopicCreator;
  readonly #members = new Members<KafkaSubscription>();
  readonly #produced = new ProducedPartitions();
  #connecting: Promise<void> | undefined;
  #admin: Promise<Admin> | undefined;
  /** Aborted by `close()`: the one record of "closed", and what cuts a drain short. */
  readonly #closing = new AbortController();
  #logger: KoperLogger = createLogger();

  constructor(options: KafkaTransportOptions) {
    // Its consumers read zstd batches whoever produced them (where this Node has zstd); registered
    // once, before the options are checked, which need to know whether this Node has it.
    this.#options = resolveOptions(options, registerZstd());
    // kafkajs logs through Koper's logger unless the application brought its own logCreator.
    this.kafka = new Kafka({ logCreator: kafkajsLogCreator(() => this.#logger), ...this.#options.kafka });
    this.#producer = this.kafka.producer({
      // The Java client's murmur2 partitioner: a key lands on the same partition as from other Kafka clients.
      createPartitioner: Partitioners.DefaultPartitioner,
      // The transport creates its topics with `partitions`; a broker auto-creating one would use its own default.
      ...(this.#options.createTopics ? { allowAutoTopicCreation: false } : {}),
      ...this.#options.producer,
      // Retries after a lost response must not write a message twice, nor out of order.
      idempotent: true,
    });
    this.#topics = new TopicCreator(kafkajsTopicAdmin(this.kafka.admin()), this.#options);
  }

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** Koper's logger: kafkajs's entries go there from now on. */
  useLogger(logger: KoperLogger): void {
    this.#logger = logger;
  }

  /** Connects the producer; called once by Koper before the first send or subscribe. */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(KafkaTransportError.closed());
    return (this.#connecting ??= this.#producer.connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw KafkaTransportError.connectFailed(describeBrokers(this.#options.kafka), error);
    }));
  }

  /**
   * Sends the batch in one request per broker (several in order when it holds more than
   * `maxBatchBytes`); resolves when every message is acknowledged by all replicas.
   */
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (this.#closed) throw KafkaTransportError.closed();
    if (messages.length === 0) return;
    await this.connect();
    for (const chunk of chunksOf(messages, this.#options.maxBatchBytes, byTopic)) await this.#sendChunk(chunk);
  }

  async #sendChunk({ topicMessages, bytes }: Chunk): Promise<void> {
    const compression = bytes >= this.#options.compressionMinBytes ? this.#options.compression : CompressionTypes.None;
    const topics = topicMessages.map((t) => t.topic);
    if (this.#options.createTopics) await this.#topics.ensure(topics);
    try {
      await this.#sendBatch(topicMessages, compression);
    } catch (error) {
      if (!this.#options.createTopics || !isUnknownTopic(error)) throw KafkaTransportError.sendFailed(topics, error);
      // The broker lost topics this process created (an empty broker restarted): create them again, then resend once.
      this.#topics.forget(topics);
      await this.#topics.ensure(topics);
      await this.#sendBatch(topicMessages, compression).catch((again: unknown) => {
        throw KafkaTransportError.sendFailed(topics, again);
      });
    }
  }

  async #sendBatch(topicMessages: TopicMessages[], compression: CompressionTypes): Promise<void> {
    const results = await this.#producer.sendBatch({ topicMessages, acks: -1, compression });
    this.#produced.record(results);
  }

  /**
   * Resolves once this process's own consumers have finished (handled or dead-lettered) everything
   * in the partitions this process produced to, up to where they ended when the call began; partitions
   * another process's member owns are not waited for. `koper.settle()` and `koper.stop()` call it.
   * Rejects with a `drain_deadline_exceeded` error after `drainTimeoutMs`.
   */
  async drain(): Promise<void> {
    if (this.#closed || this.#members.size === 0) return;
    await this.#produced.drain(this.#members.list(), () => this.#adminClient().then(kafkajsOffsets), this.#options.drainTimeoutMs, this.#closing.signal);
  }

  #adminClient(): Promise<Admin> {
    if (this.#admin) return this.#admin;
    const admin = this.kafka.admin();
    const connecting = admin.connect().then(() => admin);
    this.#admin = connecting.catch((error: unknown) => {
      this.#admin = undefined;
      throw KafkaTransportError.connectFailed(describeBrokers(this.#options.kafka), error);
    });
    return this.#admin;
  }

  /** Joins `subscription.group` as a new member and starts handing its messages to the runtime. */
  async subscribe(subscription: Subscription): Promise<SubscriptionHandle> {
    if (this.#closed) throw KafkaTransportError.closed();
    // Created up front with the configured partitions, not auto-created by the subscribe with the broker's default.
    if (this.#options.createTopics) await this.#topics.ensure(subscription.topics);
    // A member whose topics vanished (an empty broker restarted) has them created again, then kafkajs restarts it.
    const recreate = (topics: readonly string[]) => void (this.#options.createTopics && this.#topics.recreate(topics));
    return this.#members.handle(await KafkaSubscription.start(this.kafka, subscription, this.#options, recreate));
  }

  /** Closes members still subscribed (finishing and committing their work), then the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing.abort();
    await this.#members.closeAll();
    const admin = this.#admin?.then((client) => client.disconnect());
    await Promise.allSettled([this.#topics.close(), this.#connecting ? this.#producer.disconnect() : undefined, admin]);
  }
}

/** A run of consecutive messages sent in one request, grouped by topic, and roughly how many bytes they are. */
interface Chunk {
  topicMessages: TopicMessages[];
  bytes: number;
}

// One entry per topic, messages in the order given (kafkajs keeps it within a partition), converted
// to kafkajs's messages as they are chunked.
function byTopic(): ChunkBuilder<Chunk> {
  const groups = new Map<string, Message[]>();
  return {
    add(message) {
      let group = groups.get(message.topic);
      if (!group) groups.set(message.topic, (group = []));
      group.push(toKafkaMessage(message));
    },
    end: (bytes) => ({ topicMessages: Array.from(groups, ([topic, messages]) => ({ topic, messages })), bytes }),
  };
}
