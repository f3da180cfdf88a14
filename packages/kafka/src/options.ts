import type { CompressionTypes, ConsumerConfig, KafkaConfig, ProducerConfig } from "kafkajs";
import { compressionType, type Compression } from "./compression.ts";
import { checkBrokers, optionalPositive, resolveKoperOptions } from "./koper-options.ts";

/** Everything `new KafkaTransport(options)` takes: kafkajs client options plus Koper's own. */
export interface KafkaTransportOptions extends Omit<KafkaConfig, "clientId"> {
  /** Names this client in broker logs and quotas. Default "koper". */
  clientId?: string;
  /** Partitions of topics the transport creates. Default: the broker's default (`num.partitions`). */
  partitions?: number;
  /** Replication factor of topics the transport creates. Default: the broker's default. */
  replicationFactor?: number;
  /** Create missing topics (once per topic per process) before sending or subscribing. Default true. */
  createTopics?: boolean;
  /** Where a group without committed offsets starts: true = the oldest message (default), false = new ones only. */
  fromBeginning?: boolean;
  /** Partitions of one subscription handled at once (kafkajs `partitionsConsumedConcurrently`). Default 8. */
  partitionsConsumedConcurrently?: number;
  /**
   * Codec of produced batches: "gzip" (kafkajs's own), "zstd" (node:zlib's, Node >= 22.15), or a
   * kafkajs `CompressionTypes` whose codec the application plugged in. Default "none".
   */
  compression?: Compression;
  /** Requests smaller than this many bytes go uncompressed: small batches gain little. Default 1024. */
  compressionMinBytes?: number;
  /**
   * Bytes (keys, values, headers) per produce request; bigger sends are split, in order, so each
   * partition's record batch stays under the broker's `message.max.bytes` (1 MiB by default). Default 1000000.
   */
  maxBatchBytes?: number;
  /**
   * How long `drain()` (behind `koper.settle()` and `koper.stop()`) waits for this process's consumers
   * to finish what it produced before it rejects with a `drain_deadline_exceeded` error. Default 30000.
   */
  drainTimeoutMs?: number;
  /** kafkajs producer settings; `idempotent` is always on. */
  producer?: Omit<ProducerConfig, "idempotent" | "transactionalId">;
  /** kafkajs consumer settings; `groupId` comes from each listener's group. */
  consumer?: Partial<Omit<ConsumerConfig, "groupId">>;
}

/** The options after defaults and checks. */
export interface ResolvedOptions {
  kafka: KafkaConfig;
  partitions: number | undefined;
  replicationFactor: number | undefined;
  createTopics: boolean;
  fromBeginning: boolean;
  partitionsConsumedConcurrently: number;
  compression: CompressionTypes;
  compressionMinBytes: number;
  maxBatchBytes: number;
  drainTimeoutMs: number;
  producer: Omit<ProducerConfig, "idempotent" | "transactionalId">;
  consumer: Partial<Omit<ConsumerConfig, "groupId">>;
}

/** Splits Koper's options from the kafkajs client config, checking the numbers; `zstd`: whether this Node's zstd is plugged in. */
export function resolveOptions(options: KafkaTransportOptions, zstd: boolean): ResolvedOptions {
  const {
    partitions,
    replicationFactor,
    createTopics,
    fromBeginning,
    partitionsConsumedConcurrently,
    compression,
    compressionMinBytes,
    maxBatchBytes,
    drainTimeoutMs,
    producer,
    consumer,
    clientId,
    ...kafka
  } = options;
  checkBrokers(kafka.brokers, true);
  return {
    kafka: { ...kafka, clientId: clientId ?? "koper" },
    ...resolveKoperOptions(options),
    partitionsConsumedConcurrently: optionalPositive("partitionsConsumedConcurrently", partitionsConsumedConcurrently) ?? 8,
    compression: compressionType(compression, zstd),
    producer: producer ?? {},
    consumer: consumer ?? {},
  };
}

/** The bootstrap list as text, for error messages. */
export function describeBrokers(kafka: KafkaConfig): string {
  return Array.isArray(kafka.brokers) ? kafka.brokers.join(",") : "(brokers from a function)";
}
