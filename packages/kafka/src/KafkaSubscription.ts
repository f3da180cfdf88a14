import type { Subscription, SubscriptionHandle } from "@koper/core";
import type { Consumer, ConsumerConfig, Kafka } from "kafkajs";
import { isUnknownTopic, KafkaTransportError } from "./errors.ts";
import { handleBatch } from "./handle-batch.ts";
import { InFlightLimit } from "./InFlightLimit.ts";
import { MemberProgress } from "./MemberProgress.ts";

/** How a subscription's consumer is set up. */
export interface ConsumerSettings {
  consumer: Partial<Omit<ConsumerConfig, "groupId">>;
  createTopics: boolean;
  fromBeginning: boolean;
  partitionsConsumedConcurrently: number;
}

/** kafkajs's default heartbeat interval, used when the options do not set one. */
const DEFAULT_HEARTBEAT_MS = 3000;

/**
 * One member of a consumer group: a kafkajs consumer with `groupId = subscription.group`, manual
 * commits after the runtime is done with a message, and a graceful leave on `close()`.
 */
export class KafkaSubscription implements SubscriptionHandle {
  readonly #consumer: Consumer;
  readonly #subscription: Subscription;
  readonly #settings: ConsumerSettings;
  /** Its partitions and what it finished on each, for `KafkaTransport.drain()`. */
  readonly progress = new MemberProgress();
  #closing: Promise<void> | undefined;

  private constructor(kafka: Kafka, subscription: Subscription, settings: ConsumerSettings, recreate: (topics: readonly string[]) => void) {
    this.#subscription = subscription;
    this.#settings = settings;
    // With createTopics the transport made the topics with its `partitions`; the broker must not auto-create them with its own.
    const autoCreate = settings.createTopics ? { allowAutoTopicCreation: false } : {};
    this.#consumer = kafka.consumer({ ...autoCreate, ...settings.consumer, groupId: subscription.group });
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      if (isUnknownTopic(payload.error)) recreate(subscription.topics);
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => this.progress.joined(payload.memberAssignment));
    this.#consumer.on(this.#consumer.events.REBALANCING, () => this.progress.rebalancing());
  }

  /** The group and topics it consumes. */
  get subscription(): Pick<Subscription, "group" | "topics"> {
    return this.#subscription;
  }

  /** Joins the group, subscribes and starts consuming; rejects with `KafkaTransportError` if it cannot. */
  static async start(
    kafka: Kafka,
    subscription: Subscription,
    settings: ConsumerSettings,
    recreate: (topics: readonly string[]) => void = () => {},
  ): Promise<KafkaSubscription> {
    const member = new KafkaSubscription(kafka, subscription, settings, recreate);
    try {
      await member.#run();
    } catch (error) {
      await member.#consumer.disconnect().catch(() => {});
      throw KafkaTransportError.subscribeFailed(subscription.group, subscription.topics, error);
    }
    return member;
  }

  /**
   * Stops fetching, waits for the batches in progress (their handlers finish every message they
   * handed out and commit), then leaves the group so its partitions move to the other members now.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#consumer.disconnect().finally(() => this.progress.left()));
  }

  async #run(): Promise<void> {
    const consumer = this.#consumer;
    const subscription = this.#subscription;
    const settings = this.#settings;
    await consumer.connect();
    await consumer.subscribe({ topics: [...subscription.topics], fromBeginning: settings.fromBeginning });
    const deps = {
      subscription,
      limit: new InFlightLimit(subscription.maxInFlight),
      logger: () => consumer.logger(),
      heartbeatEveryMs: Math.max(100, Math.floor((settings.consumer.heartbeatInterval ?? DEFAULT_HEARTBEAT_MS) / 2)),
      redeliveryDelayMs: 1000,
      finished: new Map<string, bigint>(),
      progress: this.progress,
    };
    await consumer.run({
      // Offsets are committed by the batch handler, only up to messages the runtime finished.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
      eachBatch: (payload) => handleBatch(payload, deps),
    });
  }
}
