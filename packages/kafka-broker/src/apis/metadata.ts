import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { Topic } from "../state/Topic.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";
import { lookupTopic } from "./topic-lookup.ts";

type TopicAnswer = { readonly name: string; readonly topic: Topic | ErrorCode };

function requestedTopics(ctx: BrokerContext, names: string[] | null, allowCreate: boolean): TopicAnswer[] {
  // v0's empty list and v1+'s null list both mean "all topics".
  if (names === null) return [...ctx.state.topics.values()].map((topic) => ({ name: topic.name, topic }));
  return names.map((name) => ({ name, topic: lookupTopic(ctx, name, allowCreate) }));
}

function writeTopic(ctx: BrokerContext, w: Writer, version: number, answer: TopicAnswer): void {
  const failed = typeof answer.topic === "number";
  w.int16(failed ? (answer.topic as ErrorCode) : ErrorCode.NONE).string(answer.name);
  if (version >= 1) w.bool(false); // is_internal
  const partitions = failed ? [] : (answer.topic as Topic).partitions;
  w.array(partitions, (pw, partition) => {
    pw.int16(ErrorCode.NONE).int32(partition.index).int32(ctx.nodeId);
    pw.array([ctx.nodeId], (rw, id) => rw.int32(id)); // replicas
    pw.array([ctx.nodeId], (rw, id) => rw.int32(id)); // isr
    if (version >= 5) pw.array([], () => {}); // offline replicas
  });
}

/** Metadata 0–6: this single broker, itself as controller, and the topics asked for (auto-created when allowed). */
export const handleMetadata: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  let names = version === 0 ? body.array((r) => r.string()) : body.nullableArray((r) => r.string());
  if (version === 0 && names?.length === 0) names = null;
  const allowCreate = version >= 4 ? body.bool() : true;
  const answers = requestedTopics(ctx, names, allowCreate);
  const w = new Writer();
  if (version >= 3) w.int32(0); // throttle_time_ms
  w.array([ctx.nodeId], (bw, id) => {
    bw.int32(id).string(ctx.advertisedHost).int32(ctx.port);
    if (version >= 1) bw.nullableString(null); // rack
  });
  if (version >= 2) w.nullableString(ctx.state.clusterId);
  if (version >= 1) w.int32(ctx.nodeId); // controller_id: kafkajs sends CreateTopics and InitProducerId there
  w.array(answers, (tw, answer) => writeTopic(ctx, tw, version, answer));
  return w;
};
