import { createLogger, type KoperLogger, type OutgoingMessage, type Subscription, type SubscriptionHandle, type Transport } from "@koper/core";
import { Admin, compatibilityPartitioner, Producer, stringSerializer, type MessageToProduce } from "@platformatic/kafka";
import { isUnknownTopic, KafkaTransportError } from "../errors.ts";
import { chunksOf, type ChunkBuilder } from "../chunks.ts";
import { Members } from "../Members.ts";
import { ProducedPartitions } from "../ProducedPartitions.ts";
import { TopicCreator } from "../TopicCreator.ts";
import { platformaticOffsets, platformaticTopicAdmin } from "./admin.ts";
import { assertSupportedNode } from "./node.ts";
import { resolvePlatformaticOptions, type PlatformaticKafkaTransportOptions, type ResolvedPlatformaticOptions } from "./options.ts";
import { PlatformaticSubscription } from "./PlatformaticSubscription.ts";

type Outgoing = MessageToProduce<string, Buffer, string, string>;

/**
 * Koper's Kafka transport on @platformatic/kafka (Node >= 22.22 or >= 24.6):
 * `new Koper({ transport: new PlatformaticKafkaTransport({ brokers }) })`. The same semantics as
 * `KafkaTransport` (the same bytes and headers on the wire, the Java client's partitioner, one
 * idempotent acks-all request per `send`, one consumer-group member per listener group committing
 * only what the listener runtime finished) on a client that spends less CPU per message.
 */
export class PlatformaticKafkaTransport implements Transport {
  readonly name = "kafka";
  /** The @platformatic/kafka producer, for anything Koper does not wrap (metrics, diagnostics). */
  readonly producer: Producer<string, Buffer, string, string>;
  readonly #options: ResolvedPlatformaticOptions;
  readonly #topics: TopicCreator;
  readonly #members = new Members<PlatformaticSubscription>();
  readonly #produced = new ProducedPartitions();
  #connecting: Promise<void> | undefined;
  #admin: Admin | undefined;
  readonly #closing = new AbortController();
  #logger: KoperLogger = createLogger();

  constructor(options: PlatformaticKafkaTransportOptions) {
    assertSupportedNode();
    this.#options = resolvePlatformaticOptions(options);
    this.producer = new Producer<string, Buffer, string, string>({
      ...this.#options.client,
      clientId: this.#options.clientId,
      bootstrapBrokers: this.#options.brokers,
      // Retries after a lost response must not write a message twice, nor out of order.
      idempotent: true,
      acks: -1,
      // The Java client's murmur2 partitioner (kafkajs's DefaultPartitioner): a key lands on the same partition as from other Kafka clients.
      partitioner: compatibilityPartitioner,
      // The transport creates its topics with `partitions`; a broker auto-creating one would use its own default.
      autocreateTopics: !this.#options.createTopics,
      serializers: { key: stringSerializer, value: (value?: Buffer) => value, headerKey: stringSerializer, headerValue: stringSerializer },
    });
    this.#topics = new TopicCreator(platformaticTopicAdmin(() => this.#adminClient()), this.#options);
  }

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** Koper's logger: the transport's own entries go there. */
  useLogger(logger: KoperLogger): void {
    this.#logger = logger;
  }

  /** Reaches the brokers (metadata of the cluster); called once by Koper before the first send or subscribe. */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(KafkaTransportError.closed());
    return (this.#connecting ??= this.producer.metadata({ topics: [] }).then(
      () => undefined,
      (error: unknown) => {
        this.#connecting = undefined;
        throw KafkaTransportError.connectFailed(this.#options.brokers.join(","), error);
      },
    ));
  }

  /**
   * Sends the batch in one request per broker (several in order when it holds more than
   * `maxBatchBytes`); resolves when every message is acknowledged by all replicas.
   */
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (this.#closed) throw KafkaTransportError.closed();
    if (messages.length === 0) return;
    await this.connect();
    for (const chunk of chunksOf(messages, this.#options.maxBatchBytes, outgoing)) await this.#sendChunk(chunk);
  }

  async #sendChunk({ messages, topics, bytes }: Chunk): Promise<void> {
    const compression = bytes >= this.#options.compressionMinBytes ? this.#options.compression : "none";
    if (this.#options.createTopics) await this.#topics.ensure(topics);
    try {
      await this.#sendBatch(messages, compression);
    } catch (error) {
      if (!this.#options.createTopics || !isUnknownTopic(error)) throw KafkaTransportError.sendFailed(topics, error);
      // The broker lost topics this process created (an empty broker restarted): create them again, then resend once.
      this.#topics.forget(topics);
      await this.#topics.ensure(topics);
      await this.#sendBatch(messages, compression).catch((again: unknown) => {
        throw KafkaTransportError.sendFailed(topics, again);
      });
    }
  }

  async #sendBatch(messages: Outgoing[], compression: ResolvedPlatformaticOptions["compression"]): Promise<void> {
    const result = await this.producer.send({ messages, compression });
    if (result.offsets) this.#produced.record(result.offsets.map(({ topic, partition }) => ({ topicName: topic, partition })));
  }

  /**
   * Resolves once this process's own consumers have finished (handled or dead-lettered) everything
   * in the partitions this process produced to, up to where they ended when the call began; partitions
   * another process's member owns are not waited for. Rejects with `drain_deadline_exceeded` after `drainTimeoutMs`.
   */
  async drain(): Promise<void> {
    if (this.#closed || this.#members.size === 0) return;
    await this.#produced.drain(this.#members.list(), async () => platformaticOffsets(this.#adminClient()), this.#options.drainTimeoutMs, this.#closing.signal);
  }

  #adminClient(): Admin {
    return (this.#admin ??= new Admin({ ...this.#options.client, clientId: this.#options.clientId, bootstrapBrokers: this.#options.brokers }));
  }

  /** Joins `subscription.group` as a new member and starts handing its messages to the runtime. */
  async subscribe(subscription: Subscription): Promise<SubscriptionHandle> {
    if (this.#closed) throw KafkaTransportError.closed();
    // Created up front with the configured partitions, not auto-created by the subscribe with the broker's default.
    if (this.#options.createTopics) await this.#topics.ensure(subscription.topics);
    // A member whose topics vanished (an empty broker restarted) has them created again before it consumes again.
    const recreate = (topics: readonly string[]) => (this.#options.createTopics ? this.#topics.recreate(topics) : undefined);
    return this.#members.handle(await PlatformaticSubscription.start(subscription, this.#options, () => this.#logger, recreate));
  }

  /** Closes members still subscribed (finishing and committing their work), then the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing.abort();
    await this.#members.closeAll();
    await Promise.allSettled([this.#topics.close(), this.producer.close()]);
    await this.#admin?.close().catch(() => {});
  }
}

/** A run of consecutive messages sent in one request, the topics it touches, and roughly how many bytes it is. */
interface Chunk {
  messages: Outgoing[];
  topics: string[];
  bytes: number;
}

// The messages as @platformatic/kafka sends them (bytes shared, not copied), and their topics.
function outgoing(): ChunkBuilder<Chunk> {
  const messages: Outgoing[] = [];
  const topics = new Set<string>();
  return {
    add(message) {
      topics.add(message.topic);
      const { value } = message;
      messages.push({
        topic: message.topic,
        ...(message.key === null ? {} : { key: message.key }),
        value: Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        headers: message.headers,
      });
    },
    end: (bytes) => ({ messages, topics: [...topics], bytes }),
  };
}
