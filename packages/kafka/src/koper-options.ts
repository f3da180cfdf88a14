import { ConfigError } from "@koper/core";

/** Koper's own options of a Kafka transport, whichever client it runs on. */
export interface KoperKafkaOptions {
  /** Partitions of topics the transport creates. Default: the broker's default (`num.partitions`). */
  partitions?: number;
  /** Replication factor of topics the transport creates. Default: the broker's default. */
  replicationFactor?: number;
  /** Create missing topics (once per topic per process) before sending or subscribing. Default true. */
  createTopics?: boolean;
  /** Where a group without committed offsets starts: true = the oldest message (default), false = new ones only. */
  fromBeginning?: boolean;
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
}

/** Koper's options after defaults and checks. */
export interface ResolvedKoperOptions {
  partitions: number | undefined;
  replicationFactor: number | undefined;
  createTopics: boolean;
  fromBeginning: boolean;
  compressionMinBytes: number;
  maxBatchBytes: number;
  drainTimeoutMs: number;
}

/** Applies the defaults of Koper's own options, checking the numbers (a `ConfigError` names the bad one). */
export function resolveKoperOptions(options: KoperKafkaOptions): ResolvedKoperOptions {
  const { partitions, replicationFactor, createTopics, fromBeginning, compressionMinBytes, maxBatchBytes, drainTimeoutMs } = options;
  return {
    partitions: optionalPositive("partitions", partitions),
    replicationFactor: optionalPositive("replicationFactor", replicationFactor),
    createTopics: createTopics ?? true,
    fromBeginning: fromBeginning ?? true,
    compressionMinBytes: compressionMinBytes === 0 ? 0 : (optionalPositive("compressionMinBytes", compressionMinBytes) ?? 1024),
    maxBatchBytes: optionalPositive("maxBatchBytes", maxBatchBytes) ?? 1_000_000,
    drainTimeoutMs: optionalPositive("drainTimeoutMs", drainTimeoutMs) ?? 30_000,
  };
}

/** A positive integer option, or undefined when not given; anything else is a `ConfigError`. */
export function optionalPositive(option: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value <= 0) throw ConfigError.invalidOption(option, `expected a positive integer, got ${value}`);
  return value;
}

/** Checks the bootstrap list: a non-empty array of "host:port" (or, for kafkajs, a function). */
export function checkBrokers(brokers: unknown, functionAllowed: boolean): void {
  if (functionAllowed && typeof brokers === "function") return;
  if (!Array.isArray(brokers) || brokers.length === 0) {
    throw ConfigError.invalidOption("brokers", 'expected a non-empty list of "host:port" addresses');
  }
}
