import { ErrorCode } from "../errors.ts";
import { validateBatch } from "../protocol/batch-validation.ts";
import { splitBatches } from "../protocol/record-batch.ts";
import { Writer } from "../protocol/Writer.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";
import { lookupTopic } from "./topic-lookup.ts";

interface PartitionResult {
  readonly index: number;
  readonly errorCode: ErrorCode;
  readonly baseOffset: number;
  readonly logAppendTime: number;
  readonly logStartOffset: number;
}

function failed(index: number, errorCode: ErrorCode): PartitionResult {
  return { index, errorCode, baseOffset: -1, logAppendTime: -1, logStartOffset: -1 };
}

// Kafka validates the whole request for a partition before appending any of it.
function appendTo(ctx: BrokerContext, topicName: string, index: number, records: Buffer | null): PartitionResult {
  // Kafka creates topics on Metadata only; a Produce to an unknown topic is refused, so a client
  // that knew the topic (its broker restarted empty) finds out instead of writing to a 1-partition copy.
  const topic = lookupTopic(ctx, topicName, false);
  if (typeof topic === "number") return failed(index, topic);
  const partition = topic.partitions[index];
  if (!partition) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const batches = splitBatches(records ?? Buffer.alloc(0));
  if (batches === "old_magic") return failed(index, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
  if (batches === "corrupt") return failed(index, ErrorCode.CORRUPT_MESSAGE);
  for (const batch of batches) {
    const verdict = validateBatch(batch, topic.config.maxMessageBytes);
    if (verdict !== ErrorCode.NONE) return failed(index, verdict);
  }
  const results = batches.map((batch) => partition.append(batch));
  const first = results[0]!;
  return { index, errorCode: ErrorCode.NONE, baseOffset: first.baseOffset, logAppendTime: first.logAppendTime, logStartOffset: partition.logStartOffset };
}

/** Produce 3–7: appends magic-2 batches (CRC-checked, offsets re-stamped); acks=0 gets no response, as in Kafka. */
export const handleProduce: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  // No transactions here: a transactional produce is refused as InitProducerId refuses its id.
  const transactional = body.nullableString() !== null;
  const acks = body.int16();
  body.int32(); // timeout_ms: appends are synchronous
  const topics = body.array((tr) => {
    const name = tr.string();
    const partitions = tr.array((pr) => ({ index: pr.int32(), records: pr.nullableBytes() }));
    return { name, partitions };
  });
  const validAcks = acks === 0 || acks === 1 || acks === -1;
  const results = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => {
      if (transactional) return failed(p.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      return validAcks ? appendTo(ctx, t.name, p.index, p.records) : failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS);
    }),
  }));
  if (acks === 0) return null;
  const w = new Writer();
  w.array(results, (tw, topic) => {
    tw.string(topic.name);
    tw.array(topic.partitions, (pw, p) => {
      pw.int32(p.index).int16(p.errorCode).int64(p.baseOffset);
      if (version >= 2) pw.int64(p.logAppendTime);
      if (version >= 5) pw.int64(p.logStartOffset);
    });
  });
  w.int32(0); // throttle_time_ms (v1+)
  return w;
};
