import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { ApiHandler } from "./context.ts";

/**
 * OffsetCommit 0–5. The per-version fields matter: v1 alone has a per-partition timestamp,
 * v2–v4 a group-level retention_time; librdkafka and kafka-python send v2, so a mis-decode
 * would lose their commits silently.
 */
export const handleOffsetCommit: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  const groupId = body.string();
  const generationId = version >= 1 ? body.int32() : -1;
  const memberId = version >= 1 ? body.string() : "";
  if (version >= 2 && version <= 4) body.int64(); // retention_time_ms
  const topics = body.array((tr) => {
    const name = tr.string();
    const partitions = tr.array((pr) => {
      const index = pr.int32();
      const offset = pr.int64();
      if (version === 1) pr.int64(); // commit_timestamp
      return { index, offset, metadata: pr.nullableString() };
    });
    return { name, partitions };
  });
  const group = groupId === "" ? undefined : ctx.state.group(groupId);
  const allowed = group ? group.checkCommit(generationId, memberId) : ErrorCode.INVALID_GROUP_ID;
  const w = new Writer();
  if (version >= 3) w.int32(0); // throttle_time_ms
  w.array(topics, (tw, topic) => {
    tw.string(topic.name);
    tw.array(topic.partitions, (pw, p) => {
      let errorCode: ErrorCode = allowed;
      if (errorCode === ErrorCode.NONE && !ctx.state.topics.get(topic.name)?.partitions[p.index]) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (errorCode === ErrorCode.NONE) group!.commit(topic.name, p.index, { offset: p.offset, metadata: p.metadata });
      pw.int32(p.index).int16(errorCode);
    });
  });
  return w;
};

/** OffsetFetch 0–4: committed offsets, -1 where none; v2+ null topics means every committed partition. */
export const handleOffsetFetch: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  const groupId = body.string();
  const requested = body.nullableArray((tr) => ({ name: tr.string(), partitions: tr.array((pr) => pr.int32()) }));
  const offsets = ctx.state.groups.get(groupId)?.offsets;
  const topics =
    requested ?? [...(offsets?.entries() ?? [])].map(([name, byPartition]) => ({ name, partitions: [...byPartition.keys()] }));
  const w = new Writer();
  if (version >= 3) w.int32(0); // throttle_time_ms
  w.array(topics, (tw, topic) => {
    tw.string(topic.name);
    tw.array(topic.partitions, (pw, index) => {
      const committed = offsets?.get(topic.name)?.get(index);
      pw.int32(index).int64(committed?.offset ?? -1).nullableString(committed ? committed.metadata : "").int16(ErrorCode.NONE);
    });
  });
  if (version >= 2) w.int16(ErrorCode.NONE);
  return w;
};
