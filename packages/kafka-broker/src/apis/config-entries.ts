import { DEFAULTS } from "../defaults.ts";
import { segmentLimit } from "../state/Partition.ts";
import type { Topic, TopicConfig } from "../state/Topic.ts";

/** Where a config's value comes from, as DescribeConfigs v1+ reports it (Kafka's ConfigSource ids). */
export const ConfigSource = { TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;
/** One of the {@link ConfigSource} ids. */
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

/** A config's data type, as DescribeConfigs v3 reports it (Kafka's ConfigType ids). */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const;
/** One of the {@link ConfigType} ids. */
export type ConfigType = (typeof ConfigType)[keyof typeof ConfigType];

/** One place a value is set, most specific first (the topic, the broker's options, the built-in default). */
export interface ConfigSynonym {
  /** The config's name at that level (`log.retention.bytes` for a topic's `retention.bytes`). */
  readonly name: string;
  /** Its value there. */
  readonly value: string;
  /** Which level. */
  readonly source: ConfigSource;
}

/** A config the broker really applies, with where its value comes from. */
export interface ConfigEntry {
  /** Kafka's name for it. */
  readonly name: string;
  /** The value in effect. */
  readonly value: string;
  /** Where the value in effect comes from (the first synonym's source). */
  readonly source: ConfigSource;
  /** Every level that sets it, most specific first. */
  readonly synonyms: readonly ConfigSynonym[];
  /** Data type. */
  readonly type: ConfigType;
  /** What the setting does in this broker. */
  readonly documentation: string;
}

/** The settings a broker runs with, and which startBroker options the caller gave. */
export interface BrokerSettings {
  readonly nodeId: number;
  readonly defaultPartitions: number;
  readonly autoCreateTopics: boolean;
  readonly topicDefaults: TopicConfig;
  readonly maxRequestBytes: number;
  readonly connectionsMaxIdleMs: number;
  /** With `dataDir`: where, and how often it is fsynced. */
  readonly dataDir: { readonly path: string; readonly fsyncIntervalMs: number } | undefined;
  /** Names of the startBroker options the caller gave (for the CLI: the flags). */
  readonly given: ReadonlySet<string>;
}

interface BrokerConfig {
  readonly name: string;
  readonly type: ConfigType;
  /** The startBroker option that sets it; none for what the broker does regardless. */
  readonly option?: string;
  /** Its value; undefined when the broker does not have the setting (no data directory). */
  readonly value: (s: BrokerSettings) => string | undefined;
  /** The value when the option is not given; none when the setting only exists once given. */
  readonly fallback?: string;
  readonly documentation: string;
}

const timestampType = (logAppendTime: boolean) => (logAppendTime ? "LogAppendTime" : "CreateTime");
const fixed = (value: string) => ({ value: () => value, fallback: value });

// Only what the broker honours, under Kafka's names; settings without a Kafka name (maxReplicationFactor,
// maxConnectionQueuedBytes) are not reported rather than given an invented one.
const BROKER_CONFIGS: readonly BrokerConfig[] = [
  { name: "auto.create.topics.enable", type: ConfigType.BOOLEAN, option: "autoCreateTopics", value: (s) => String(s.autoCreateTopics), fallback: String(DEFAULTS.autoCreateTopics), documentation: "Metadata creates unknown topics with num.partitions partitions; Produce never does." },
  { name: "broker.id", type: ConfigType.INT, option: "nodeId", value: (s) => String(s.nodeId), fallback: String(DEFAULTS.nodeId), documentation: "This broker's id, also the controller's." },
  { name: "compression.type", type: ConfigType.STRING, ...fixed("producer"), documentation: "Batches are stored as the producer compressed them." },
  { name: "connections.max.idle.ms", type: ConfigType.LONG, option: "connectionsMaxIdleMs", value: (s) => String(s.connectionsMaxIdleMs), fallback: String(DEFAULTS.connectionsMaxIdleMs), documentation: "A connection with no traffic and no request in progress for this long is closed." },
  { name: "default.replication.factor", type: ConfigType.INT, ...fixed("1"), documentation: "CreateTopics with -1 gets one replica; every topic has one copy." },
  { name: "log.cleanup.policy", type: ConfigType.LIST, ...fixed("delete"), documentation: "Retention deletes the oldest segments; there is no compaction." },
  { name: "log.dirs", type: ConfigType.STRING, option: "dataDir", value: (s) => s.dataDir?.path, documentation: "The data directory topics, logs and committed offsets are kept in." },
  { name: "log.flush.interval.ms", type: ConfigType.LONG, option: "fsyncIntervalMs", value: (s) => s.dataDir && String(s.dataDir.fsyncIntervalMs), fallback: String(DEFAULTS.fsyncIntervalMs), documentation: "Written data is fsynced this often, and on stop." },
  { name: "log.message.timestamp.type", type: ConfigType.STRING, option: "logAppendTime", value: (s) => timestampType(s.topicDefaults.logAppendTime), fallback: timestampType(DEFAULTS.logAppendTime), documentation: "LogAppendTime stamps broker time on every batch; CreateTime keeps the producer's." },
  { name: "log.retention.bytes", type: ConfigType.LONG, option: "maxPartitionBytes", value: (s) => String(s.topicDefaults.maxPartitionBytes), fallback: String(DEFAULTS.maxPartitionBytes), documentation: "Memory budget per partition (what the log holds in memory); beyond it the oldest segments are dropped." },
  { name: "log.retention.ms", type: ConfigType.LONG, ...fixed("-1"), documentation: "Records are never deleted by age." },
  { name: "log.segment.bytes", type: ConfigType.INT, option: "maxPartitionBytes", value: (s) => String(segmentLimit(s.topicDefaults.maxPartitionBytes)), fallback: String(segmentLimit(DEFAULTS.maxPartitionBytes)), documentation: "Segments roll at an eighth of the retention budget, 1 MiB at most." },
  { name: "message.max.bytes", type: ConfigType.INT, option: "maxMessageBytes", value: (s) => String(s.topicDefaults.maxMessageBytes), fallback: String(DEFAULTS.maxMessageBytes), documentation: "Largest record batch accepted; a bigger one gets MESSAGE_TOO_LARGE." },
  { name: "node.id", type: ConfigType.INT, option: "nodeId", value: (s) => String(s.nodeId), fallback: String(DEFAULTS.nodeId), documentation: "This broker's id, also the controller's." },
  { name: "num.partitions", type: ConfigType.INT, option: "partitions", value: (s) => String(s.defaultPartitions), fallback: String(DEFAULTS.partitions), documentation: "Partitions of auto-created topics and of CreateTopics with -1." },
  { name: "socket.request.max.bytes", type: ConfigType.INT, option: "maxRequestBytes", value: (s) => String(s.maxRequestBytes), fallback: String(DEFAULTS.maxRequestBytes), documentation: "A larger request frame closes the connection." },
];

function brokerEntry(config: BrokerConfig, settings: BrokerSettings): ConfigEntry | undefined {
  const value = config.value(settings);
  if (value === undefined) return undefined;
  const synonyms: ConfigSynonym[] = [];
  if (config.option !== undefined && settings.given.has(config.option)) synonyms.push({ name: config.name, value, source: ConfigSource.STATIC_BROKER_CONFIG });
  if (config.fallback !== undefined) synonyms.push({ name: config.name, value: config.fallback, source: ConfigSource.DEFAULT_CONFIG });
  return { name: config.name, value, source: synonyms[0]!.source, synonyms, type: config.type, documentation: config.documentation };
}

/** The broker resource's configs: what its options set (STATIC_BROKER_CONFIG) or their defaults (DEFAULT_CONFIG). */
export function brokerConfigEntries(settings: BrokerSettings): ConfigEntry[] {
  return BROKER_CONFIGS.map((config) => brokerEntry(config, settings)).filter((entry) => entry !== undefined);
}

interface TopicConfigSpec {
  readonly name: string;
  /** The broker config it falls back to. */
  readonly synonym: string;
  /** The topic setting behind it, when it has its own; else the broker's value applies. */
  readonly field?: keyof TopicConfig;
  readonly value?: (config: TopicConfig) => string;
  readonly documentation: string;
}

const TOPIC_CONFIGS: readonly TopicConfigSpec[] = [
  { name: "cleanup.policy", synonym: "log.cleanup.policy", documentation: "Retention deletes the oldest segments; there is no compaction." },
  { name: "compression.type", synonym: "compression.type", documentation: "Batches are stored as the producer compressed them." },
  { name: "flush.ms", synonym: "log.flush.interval.ms", documentation: "Written data is fsynced this often (the broker's fsyncIntervalMs)." },
  { name: "max.message.bytes", synonym: "message.max.bytes", field: "maxMessageBytes", value: (c) => String(c.maxMessageBytes), documentation: "Largest record batch accepted; a bigger one gets MESSAGE_TOO_LARGE." },
  { name: "message.timestamp.type", synonym: "log.message.timestamp.type", field: "logAppendTime", value: (c) => timestampType(c.logAppendTime), documentation: "LogAppendTime stamps broker time on every batch; CreateTime keeps the producer's." },
  { name: "retention.bytes", synonym: "log.retention.bytes", field: "maxPartitionBytes", value: (c) => String(c.maxPartitionBytes), documentation: "Memory budget per partition; beyond it the oldest segments are dropped and the log start offset moves." },
  { name: "retention.ms", synonym: "log.retention.ms", documentation: "Records are never deleted by age." },
  { name: "segment.bytes", synonym: "log.segment.bytes", value: (c) => String(segmentLimit(c.maxPartitionBytes)), documentation: "Segments roll at an eighth of retention.bytes, 1 MiB at most." },
];

/**
 * A topic's configs. A value is the topic's own (TOPIC_CONFIG) when it was given at creation, or
 * differs from the broker's current one (a topic kept in a data directory keeps the settings it
 * was created with); otherwise it is the broker's, with the broker's source.
 */
export function topicConfigEntries(topic: Topic, broker: readonly ConfigEntry[]): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const spec of TOPIC_CONFIGS) {
    const inherited = broker.find((entry) => entry.name === spec.synonym);
    if (!inherited) continue; // flush.ms without a data directory
    const value = spec.value ? spec.value(topic.config) : inherited.value;
    const own = (spec.field !== undefined && topic.overrides.includes(spec.field)) || value !== inherited.value;
    const synonyms = own ? [{ name: spec.name, value, source: ConfigSource.TOPIC_CONFIG }, ...inherited.synonyms] : inherited.synonyms;
    entries.push({ name: spec.name, value, source: synonyms[0]!.source, synonyms, type: inherited.type, documentation: spec.documentation });
  }
  return entries;
}
