import { ErrorCode } from "../errors.ts";
import type { Reader } from "../protocol/Reader.ts";
import { Writer } from "../protocol/Writer.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";

interface GrowTopic {
  readonly name: string;
  readonly count: number;
  // null: the broker places the new partitions; else one replica list per new partition.
  readonly assignments: readonly (readonly number[])[] | null;
}

interface Outcome {
  readonly errorCode: ErrorCode;
  readonly message: string | null;
}

const OK: Outcome = { errorCode: ErrorCode.NONE, message: null };
// Kafka's controller refuses more than this many partitions in one request (QuorumController MAX_PARTITIONS_PER_BATCH).
const MAX_NEW_PARTITIONS = 10_000;

function readTopic(r: Reader): GrowTopic {
  return { name: r.string(), count: r.int32(), assignments: r.nullableArray((ar) => ar.array((br) => br.int32())) };
}

const refuse = (errorCode: ErrorCode, message: string): Outcome => ({ errorCode, message });

// Manual assignments are checked as Kafka's controller does; on one broker the only valid one is [nodeId].
function checkAssignments(ctx: BrokerContext, assignments: readonly (readonly number[])[], added: number): Outcome {
  if (assignments.length !== added) {
    return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Attempted to add ${added} additional partition(s), but only ${assignments.length} assignment(s) were specified.`);
  }
  for (const replicas of assignments) {
    if (replicas.length === 0) return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list.");
    const seen = new Set<number>();
    for (const id of replicas) {
      if (seen.has(id)) return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${id} more than once.`);
      seen.add(id);
      if (id !== ctx.nodeId) return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${id}, but no such broker is registered.`);
    }
  }
  return OK;
}

function growOne(ctx: BrokerContext, request: GrowTopic, validateOnly: boolean): Outcome {
  const topic = ctx.state.topics.get(request.name);
  if (!topic) return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${request.name}' does not exist.`);
  const current = topic.partitions.length;
  if (request.count === current) return refuse(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  if (request.count < current) {
    return refuse(ErrorCode.INVALID_PARTITIONS, `The topic ${request.name} currently has ${current} partition(s); ${request.count} would not be an increase.`);
  }
  const added = request.count - current;
  if (added > MAX_NEW_PARTITIONS) return refuse(ErrorCode.POLICY_VIOLATION, "Excessively large number of partitions per request.");
  const assigned = request.assignments === null ? OK : checkAssignments(ctx, request.assignments, added);
  if (assigned.errorCode !== ErrorCode.NONE || validateOnly) return assigned;
  ctx.state.addPartitions(topic, request.count);
  return OK;
}

/**
 * CreatePartitions 0–1: grows topics to the requested count; the new partitions start empty at
 * offset 0 and Metadata lists them at once. A manual assignment may only name this broker.
 */
export const handleCreatePartitions: ApiHandler = (ctx, _header, body) => {
  const topics = body.array(readTopic);
  body.int32(); // timeout_ms: the partitions exist when this answers
  const validateOnly = body.bool();
  const counts = new Map<string, number>();
  for (const t of topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const w = new Writer().int32(0); // throttle_time_ms
  w.array(topics, (tw, topic) => {
    const duplicate = (counts.get(topic.name) ?? 0) > 1;
    const outcome = duplicate ? refuse(ErrorCode.INVALID_REQUEST, "Duplicate topic name.") : growOne(ctx, topic, validateOnly);
    tw.string(topic.name).int16(outcome.errorCode).nullableString(outcome.message);
  });
  return w;
};
