import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";
import { lookupPartition } from "./topic-lookup.ts";

// DeleteRecords' "up to the high watermark".
const HIGH_WATERMARK = -1;

interface Deleted {
  readonly lowWatermark: number;
  readonly errorCode: ErrorCode;
}

// As Kafka's Partition.deleteRecordsOnLeader: -1 is the high watermark, anything else must lie in 0..high watermark.
function deleteOne(ctx: BrokerContext, topic: string, index: number, offset: number): Deleted {
  const partition = lookupPartition(ctx, topic, index);
  if (typeof partition === "number") return { lowWatermark: -1, errorCode: partition };
  const target = offset === HIGH_WATERMARK ? partition.highWatermark : offset;
  if (target < 0 || target > partition.highWatermark) return { lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
  return { lowWatermark: partition.deleteRecordsBefore(target), errorCode: ErrorCode.NONE };
}

/** DeleteRecords 0–1: moves each partition's log start offset forward and answers the new low watermark. */
export const handleDeleteRecords: ApiHandler = (ctx, _header, body) => {
  const topics = body.array((tr) => ({ name: tr.string(), partitions: tr.array((pr) => ({ index: pr.int32(), offset: pr.int64() })) }));
  body.int32(); // timeout_ms: one replica, so the deletion is complete when answered
  const w = new Writer().int32(0); // throttle_time_ms
  w.array(topics, (tw, topic) => {
    tw.string(topic.name);
    tw.array(topic.partitions, (pw, p) => {
      const deleted = deleteOne(ctx, topic.name, p.index, p.offset);
      pw.int32(p.index).int64(deleted.lowWatermark).int16(deleted.errorCode);
    });
  });
  return w;
};
