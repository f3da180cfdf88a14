/**
 * What startBroker uses for an option that is not given; DescribeConfigs reports the same numbers
 * as each setting's default (DEFAULT_CONFIG).
 */
export const DEFAULTS = {
  nodeId: 1,
  partitions: 1,
  autoCreateTopics: true,
  maxPartitionBytes: 64 * 1024 * 1024,
  logAppendTime: false,
  maxRequestBytes: 100 * 1024 * 1024,
  // Kafka's message.max.bytes default: 1 MiB of records plus the 12-byte log overhead.
  maxMessageBytes: 1_048_588,
  maxReplicationFactor: 1,
  maxConnectionQueuedBytes: 16 * 1024 * 1024,
  connectionsMaxIdleMs: 600_000,
  fsyncIntervalMs: 1000,
} as const;
