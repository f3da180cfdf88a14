import { ErrorCode } from "../errors.ts";
import type { Reader } from "../protocol/Reader.ts";
import { Writer } from "../protocol/Writer.ts";
import { Topic, type TopicConfig } from "../state/Topic.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";

interface CreateTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string | null>;
}

function readCreateTopic(r: Reader): CreateTopic {
  const name = r.string();
  const numPartitions = r.int32();
  const replicationFactor = r.int16();
  const assignments = r.array((ar) => ({ index: ar.int32(), brokers: ar.array((br) => br.int32()) }));
  const configs = new Map(r.array((cr) => [cr.string(), cr.nullableString()] as const));
  // Manual assignments name their replicas; their count is the replication factor asked for.
  const replicas = assignments.length > 0 ? Math.max(...assignments.map((a) => a.brokers.length)) : replicationFactor;
  return { name, partitions: assignments.length > 0 ? assignments.length : numPartitions, replicationFactor: replicas, configs };
}

function positiveConfig(configs: ReadonlyMap<string, string | null>, name: string): number | undefined {
  const value = Number(configs.get(name) ?? Number.NaN);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

function timestampType(configs: ReadonlyMap<string, string | null>): boolean | undefined {
  const type = configs.get("message.timestamp.type");
  return type === "LogAppendTime" ? true : type === "CreateTime" ? false : undefined;
}

interface ConfiguredTopic {
  readonly config: TopicConfig;
  readonly overrides: (keyof TopicConfig)[];
}

// Honours the topic configs that change what clients observe; others are accepted and ignored.
function topicConfig(ctx: BrokerContext, configs: ReadonlyMap<string, string | null>): ConfiguredTopic {
  const given = {
    maxPartitionBytes: positiveConfig(configs, "retention.bytes"),
    logAppendTime: timestampType(configs),
    maxMessageBytes: positiveConfig(configs, "max.message.bytes"),
  };
  const defaults = ctx.topicDefaults;
  return {
    config: {
      maxPartitionBytes: given.maxPartitionBytes ?? defaults.maxPartitionBytes,
      logAppendTime: given.logAppendTime ?? defaults.logAppendTime,
      maxMessageBytes: given.maxMessageBytes ?? defaults.maxMessageBytes,
    },
    overrides: (Object.keys(given) as (keyof TopicConfig)[]).filter((key) => given[key] !== undefined),
  };
}

interface Outcome {
  readonly errorCode: ErrorCode;
  readonly message: string | null;
}

const OK: Outcome = { errorCode: ErrorCode.NONE, message: null };

function createOne(ctx: BrokerContext, topic: CreateTopic, validateOnly: boolean): Outcome {
  if (!Topic.isLegalName(topic.name)) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: null };
  if (ctx.state.topics.has(topic.name)) return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${topic.name}' already exists.` };
  const partitions = topic.partitions === -1 ? ctx.defaultPartitions : topic.partitions;
  if (partitions <= 0) return { errorCode: ErrorCode.INVALID_PARTITIONS, message: "Number of partitions must be larger than 0." };
  // -1 asks for the broker default (1); Kafka refuses more replicas than brokers.
  const replicas = topic.replicationFactor === -1 ? 1 : topic.replicationFactor;
  if (replicas <= 0 || replicas > ctx.maxReplicationFactor) {
    const message = `Replication factor: ${topic.replicationFactor} larger than available brokers: ${ctx.maxReplicationFactor}.`;
    return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, message: replicas <= 0 ? "Replication factor must be larger than 0." : message };
  }
  if (validateOnly) return OK;
  const { config, overrides } = topicConfig(ctx, topic.configs);
  ctx.state.createTopic(topic.name, partitions, config, overrides);
  return OK;
}

/** CreateTopics 0–3: creates topics (replication factor checked against maxReplicationFactor; retention.bytes, max.message.bytes and message.timestamp.type honoured). */
export const handleCreateTopics: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  const topics = body.array(readCreateTopic);
  body.int32(); // timeout_ms
  const validateOnly = version >= 1 ? body.bool() : false;
  const w = new Writer();
  if (version >= 2) w.int32(0); // throttle_time_ms
  w.array(topics, (tw, topic) => {
    const outcome = createOne(ctx, topic, validateOnly);
    tw.string(topic.name).int16(outcome.errorCode);
    if (version >= 1) tw.nullableString(outcome.message);
  });
  return w;
};

/** DeleteTopics 0–3: drops topics, their data and the groups' committed offsets for them, as Kafka does. */
export const handleDeleteTopics: ApiHandler = (ctx, header, body) => {
  const names = body.array((r) => r.string());
  body.int32(); // timeout_ms
  const w = new Writer();
  if (header.apiVersion >= 1) w.int32(0); // throttle_time_ms
  w.array(names, (tw, name) => {
    tw.string(name).int16(ctx.state.deleteTopic(name) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
  return w;
};
