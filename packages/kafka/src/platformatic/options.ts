import { ConfigError } from "@koper/core";
import type { ConsumerOptions, ProducerOptions } from "@platformatic/kafka";
import { checkBrokers, resolveKoperOptions, type KoperKafkaOptions, type ResolvedKoperOptions } from "../koper-options.ts";

/** Settings every @platformatic/kafka client of the transport shares: TLS, SASL, timeouts, retries. */
export type PlatformaticClientOptions = Omit<ProducerOptions<string, Buffer, string, string>, "clientId" | "bootstrapBrokers" | keyof ProducerOnly>;

// Producer settings the transport owns (the same as KafkaTransport's: idempotent, acks all, its serializers).
interface ProducerOnly {
  idempotent: unknown;
  acks: unknown;
  compression: unknown;
  partitioner: unknown;
  serializers: unknown;
  transactionalId: unknown;
  producerId: unknown;
  producerEpoch: unknown;
  beforeSerialization: unknown;
  registry: unknown;
  autocreateTopics: unknown;
  repeatOnStaleMetadata: unknown;
}

/** Consumer-group settings of each subscription's member. */
export interface PlatformaticConsumerOptions {
  /** Default 30000 (Kafka's `session.timeout.ms` default: 45000). */
  sessionTimeout?: number;
  heartbeatInterval?: number;
  rebalanceTimeout?: number;
  /** How long a fetch waits on the broker for data. Default 500 ms (kafkajs's `maxWaitTimeInMs` default 5000). */
  maxWaitTime?: number;
  minBytes?: number;
  maxBytes?: number;
  maxBytesPerPartition?: number;
  /** Messages the member's stream buffers ahead of the runtime. */
  highWaterMark?: number;
}

/** Everything `new PlatformaticKafkaTransport(options)` takes. */
export interface PlatformaticKafkaTransportOptions extends KoperKafkaOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Names this client in broker logs and quotas. Default "koper". */
  clientId?: string;
  /** Codec of produced batches (@platformatic/kafka's own). Default "none". */
  compression?: "none" | "gzip" | "snappy" | "lz4" | "zstd";
  /**
   * Settings shared by the transport's producer, consumers and admin client (`tls`, `sasl`, `timeout`,
   * `retries`, `retryDelay`, …). `retries` defaults to 5 (kafkajs's default) and must be at least 2.
   */
  client?: PlatformaticClientOptions;
  /** Each member's consumer-group and fetch settings; `groupId` comes from each listener's group. */
  consumer?: PlatformaticConsumerOptions;
}

/** The options after defaults and checks. */
export interface ResolvedPlatformaticOptions extends ResolvedKoperOptions {
  brokers: string[];
  clientId: string;
  compression: "none" | "gzip" | "snappy" | "lz4" | "zstd";
  client: PlatformaticClientOptions;
  consumer: PlatformaticConsumerOptions;
}

const CODECS = new Set(["none", "gzip", "snappy", "lz4", "zstd"]);

export function resolvePlatformaticOptions(options: PlatformaticKafkaTransportOptions): ResolvedPlatformaticOptions {
  checkBrokers(options.brokers, false);
  const compression = options.compression ?? "none";
  if (!CODECS.has(compression)) throw ConfigError.invalidOption("compression", `expected one of ${[...CODECS].join(", ")}, got ${String(compression)}`);
  return {
    ...resolveKoperOptions(options),
    brokers: [...options.brokers],
    clientId: options.clientId ?? "koper",
    compression,
    // An idempotent @platformatic/kafka producer left at `retries` <= 1 retries forever; kafkajs's default is 5.
    client: { ...options.client, retries: clientRetries(options.client?.retries) },
    consumer: options.consumer ?? {},
  };
}

function clientRetries(retries: number | boolean | undefined): number | boolean {
  if (retries === undefined) return 5;
  if (typeof retries === "number" && retries <= 1) throw ConfigError.invalidOption("client.retries", `expected at least 2 (an idempotent @platformatic/kafka producer retries forever below that), got ${retries}`);
  return retries;
}

/** The consumer options a member passes through (its Consumer's, minus what the member owns). */
export type MemberConsumerOptions = Partial<ConsumerOptions<string, Buffer, string, string>>;
