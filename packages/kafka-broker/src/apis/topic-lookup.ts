import { ErrorCode } from "../errors.ts";
import type { Partition } from "../state/Partition.ts";
import { Topic } from "../state/Topic.ts";
import type { BrokerContext } from "./context.ts";

/** Finds a topic, creating it with the default partitions when auto-create is allowed; else an error code. */
export function lookupTopic(ctx: BrokerContext, name: string, allowCreate: boolean): Topic | ErrorCode {
  const existing = ctx.state.topics.get(name);
  if (existing) return existing;
  if (!Topic.isLegalName(name)) return ErrorCode.INVALID_TOPIC_EXCEPTION;
  if (!allowCreate || !ctx.autoCreateTopics) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  ctx.state.createTopic(name, ctx.defaultPartitions, ctx.topicDefaults);
  return ctx.state.topics.get(name)!;
}

/** Finds an existing partition, or UNKNOWN_TOPIC_OR_PARTITION. */
export function lookupPartition(ctx: BrokerContext, topic: string, index: number): Partition | ErrorCode {
  return ctx.state.topics.get(topic)?.partitions[index] ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
}
