import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { Partition } from "../state/Partition.ts";
import type { ApiHandler } from "./context.ts";
import { lookupPartition } from "./topic-lookup.ts";

const LATEST = -1;
const EARLIEST = -2;

function resolveOffset(partition: Partition, timestamp: number): { offset: number; timestamp: number } {
  if (timestamp === LATEST) return { offset: partition.highWatermark, timestamp: -1 };
  if (timestamp === EARLIEST) return { offset: partition.logStartOffset, timestamp: -1 };
  return partition.offsetForTimestamp(timestamp);
}

/** ListOffsets 0–3: earliest (log start), latest (high watermark) or the first batch at a timestamp. */
export const handleListOffsets: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  body.int32(); // replica_id
  if (version >= 2) body.int8(); // isolation_level: LSO = high watermark
  const topics = body.array((tr) => {
    const name = tr.string();
    const partitions = tr.array((pr) => {
      const index = pr.int32();
      const timestamp = pr.int64();
      if (version === 0) pr.int32(); // max_num_offsets: one offset is always enough for clients
      return { index, timestamp, partition: lookupPartition(ctx, name, index) };
    });
    return { name, partitions };
  });
  const w = new Writer();
  if (version >= 2) w.int32(0); // throttle_time_ms
  w.array(topics, (tw, topic) => {
    tw.string(topic.name);
    tw.array(topic.partitions, (pw, p) => {
      const found = typeof p.partition === "number" ? undefined : resolveOffset(p.partition, p.timestamp);
      pw.int32(p.index).int16(found ? ErrorCode.NONE : (p.partition as ErrorCode));
      if (version === 0) pw.array(found && found.offset >= 0 ? [found.offset] : [], (ow, offset) => ow.int64(offset));
      else pw.int64(found?.timestamp ?? -1).int64(found?.offset ?? -1);
    });
  });
  return w;
};
