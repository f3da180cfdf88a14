import { createLogger, type KoperLogger, type OutgoingMessage, type Subscription, type SubscriptionHandle, type Transport } from "@koper/core";
import { CompressionTypes, Kafka, Partitioners, type Message, type Producer, type TopicMessages } from "kafkajs";
import { KafkaTransportError } from "./errors.ts";
import { KafkaSubscription } from "./KafkaSubscription.ts";
import { kafkajsLogCreator } from "./kafkajs-logs.ts";
import { toKafkaMessage } from "./messages.ts";
import { describeBrokers, resolveOptions, type KafkaTransportOptions, type ResolvedOptions } from "./options.ts";
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
  readonly #members = new Set<KafkaSubscription>();
  #connecting: Promise<void> | undefined;
  #closed = false;
  #logger: KoperLogger = createLogger();

  constructor(options: KafkaTransportOptions) {
    this.#options = resolveOptions(options);
    // kafkajs logs through Koper's logger unless the application brought its own logCreator.
    this.kafka = new Kafka({ logCreator: kafkajsLogCreator(() => this.#logger), ...this.#options.kafka });
    this.#producer = this.kafka.producer({
      // The Java client's murmur2 partitioner: a key lands on the same partition as from other Kafka clients.
      createPartitioner: Partitioners.DefaultPartitioner,
      ...this.#options.producer,
      // Retries after a lost response must not write a message twice, nor out of order.
      idempotent: true,
    });
    this.#topics = new TopicCreator(this.kafka.admin(), this.#options);
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

  /** Sends the whole batch in one request per broker; resolves when every message is acknowledged by all replicas. */
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (this.#closed) throw KafkaTransportError.closed();
    if (messages.length === 0) return;
    await this.connect();
    const topicMessages = byTopic(messages);
    const topics = topicMessages.map((t) => t.topic);
    if (this.#options.createTopics) await this.#topics.ensure(topics);
    try {
      await this.#producer.sendBatch({ topicMessages, acks: -1, compression: this.#options.compression ?? CompressionTypes.None });
    } catch (error) {
      throw KafkaTransportError.sendFailed(topics, error);
    }
  }

  /** Joins `subscription.group` as a new member and starts handing its messages to the runtime. */
  async subscribe(subscription: Subscription): Promise<SubscriptionHandle> {
    if (this.#closed) throw KafkaTransportError.closed();
    // Created up front with the configured partitions, not auto-created by the subscribe with the broker's default.
    if (this.#options.createTopics) await this.#topics.ensure(subscription.topics);
    const member = await KafkaSubscription.start(this.kafka, subscription, this.#options);
    this.#members.add(member);
    return {
      close: async () => {
        this.#members.delete(member);
        await member.close();
      },
    };
  }

  /** Closes members still subscribed (finishing and committing their work), then the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const members = [...this.#members];
    this.#members.clear();
    await Promise.allSettled(members.map((m) => m.close()));
    await Promise.allSettled([this.#topics.close(), this.#connecting ? this.#producer.disconnect() : undefined]);
  }
}

// One entry per topic, messages in the order given: kafkajs keeps that order within a partition.
function byTopic(messages: OutgoingMessage[]): TopicMessages[] {
  const groups = new Map<string, Message[]>();
  for (const message of messages) {
    let group = groups.get(message.topic);
    if (!group) groups.set(message.topic, (group = []));
    group.push(toKafkaMessage(message));
  }
  return [...groups].map(([topic, list]) => ({ topic, messages: list }));
}
