import { ErrorCode } from "../errors.ts";
import type { Reader } from "../protocol/Reader.ts";
import { Writer } from "../protocol/Writer.ts";
import { Topic, type TopicConfig } from "../state/Topic.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";

interface CreateTopic {
  readonly name: string;
  readonly partitions: number;
  readonly configs: ReadonlyMap<string, string | null>;
}

function readCreateTopic(r: Reader): CreateTopic {
  const name = r.string();
  const numPartitions = r.int32();
  r.int16(); // replication_factor: one broker holds the only copy, whatever is asked
  const assignments = r.array((ar) => ({ index: ar.int32(), brokers: ar.array((br) => br.int32()) }));
  const configs = new Map(r.array((cr) => [cr.string(), cr.nullableString()] as const));
  return { name, partitions: assignments.length > 0 ? assignments.length : numPartitions, configs };
}

// Honours the two topic configs that change what clients observe; others are accepted and ignored.
function topicConfig(ctx: BrokerContext, configs: ReadonlyMap<string, string | null>): TopicConfig {
  const retention = Number(configs.get("retention.bytes") ?? Number.NaN);
  return {
    maxPartitionBytes: retention > 0 ? retention : ctx.topicDefaults.maxPartitionBytes,
    logAppendTime: (configs.get("message.timestamp.type") ?? "") === "LogAppendTime" || ctx.topicDefaults.logAppendTime,
  };
}

function createOne(ctx: BrokerContext, topic: CreateTopic, validateOnly: boolean): ErrorCode {
  if (!Topic.isLegalName(topic.name)) return ErrorCode.INVALID_TOPIC_EXCEPTION;
  if (ctx.state.topics.has(topic.name)) return ErrorCode.TOPIC_ALREADY_EXISTS;
  const partitions = topic.partitions === -1 ? ctx.defaultPartitions : topic.partitions;
  if (partitions <= 0) return ErrorCode.INVALID_PARTITIONS;
  if (!validateOnly) ctx.state.createTopic(topic.name, partitions, topicConfig(ctx, topic.configs));
  return ErrorCode.NONE;
}

/** CreateTopics 0–3: creates topics (replication factor ignored; retention.bytes and LogAppendTime honoured). */
export const handleCreateTopics: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  const topics = body.array(readCreateTopic);
  body.int32(); // timeout_ms
  const validateOnly = version >= 1 ? body.bool() : false;
  const w = new Writer();
  if (version >= 2) w.int32(0); // throttle_time_ms
  w.array(topics, (tw, topic) => {
    const errorCode = createOne(ctx, topic, validateOnly);
    tw.string(topic.name).int16(errorCode);
    if (version >= 1) tw.nullableString(null);
  });
  return w;
};

/** DeleteTopics 0–3: drops topics and their data; committed offsets stay, as Kafka expires them later. */
export const handleDeleteTopics: ApiHandler = (ctx, header, body) => {
  const names = body.array((r) => r.string());
  body.int32(); // timeout_ms
  const w = new Writer();
  if (header.apiVersion >= 1) w.int32(0); // throttle_time_ms
  w.array(names, (tw, name) => {
    tw.string(name).int16(ctx.state.topics.delete(name) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
  return w;
};
