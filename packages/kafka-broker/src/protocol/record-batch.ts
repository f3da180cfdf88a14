import { crc32c } from "./crc32c.ts";

// Byte offsets of the RecordBatch (magic 2) header fields, from Kafka's DefaultRecordBatch.
const BASE_OFFSET = 0;
const LENGTH = 8;
const LEADER_EPOCH = 12;
const MAGIC = 16;
const CRC = 17;
/** Where the CRC-covered part of a batch starts (attributes); baseOffset and leader epoch are outside it. */
export const CRC_START = 21;
/** Byte offsets of the attributes, first timestamp and max timestamp fields. */
export const ATTRIBUTES = 21;
const LAST_OFFSET_DELTA = 23;
export const FIRST_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
const PRODUCER_ID = 43;
const PRODUCER_EPOCH = 51;
const BASE_SEQUENCE = 53;
const RECORD_COUNT = 57;
/** Size of the fixed RecordBatch header, up to and including the record count. */
export const BATCH_HEADER_SIZE = 61;
// Bytes counted in the batchLength field start after baseOffset and the length itself.
const LOG_OVERHEAD = 12;

/** The attributes bit of a batch whose records carry the broker's append time. */
export const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
const TRANSACTIONAL = 0x10;

/** The header fields of one magic-2 record batch the broker needs for indexing and dedupe. */
export interface BatchHeader {
  /** lastOffsetDelta + 1: how many offsets the batch occupies. */
  readonly offsetCount: number;
  /** Number of records the batch says it holds. */
  readonly recordCount: number;
  /** Max timestamp of the batch (create or log-append time). */
  readonly maxTimestamp: number;
  /** Idempotent producer id, -1 when not idempotent. */
  readonly producerId: number;
  /** Producer epoch. */
  readonly producerEpoch: number;
  /** Sequence of the first record, -1 when not idempotent. */
  readonly baseSequence: number;
  /** Whether the transactional bit is set. */
  readonly transactional: boolean;
}

/** Why a produced records blob was refused, as a Kafka error name. */
export type BatchProblem = "corrupt" | "old_magic";

/** Splits a produce request's records blob into whole magic-2 batches, or names the problem. */
export function splitBatches(records: Buffer): Buffer[] | BatchProblem {
  const batches: Buffer[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < LOG_OVERHEAD + 5) return "corrupt";
    const size = LOG_OVERHEAD + records.readInt32BE(at + LENGTH);
    if (records.readInt8(at + MAGIC) < 2) return "old_magic";
    if (size < BATCH_HEADER_SIZE || at + size > records.length) return "corrupt";
    batches.push(records.subarray(at, at + size));
    at += size;
  }
  return batches.length > 0 ? batches : "corrupt";
}

/** Tells whether the stored CRC-32C of a batch matches its contents. */
export function hasValidCrc(batch: Buffer): boolean {
  return batch.readUInt32BE(CRC) === crc32c(batch, CRC_START);
}

/** Reads the header fields of a whole magic-2 batch. */
export function readBatchHeader(batch: Buffer): BatchHeader {
  return {
    offsetCount: batch.readInt32BE(LAST_OFFSET_DELTA) + 1,
    recordCount: batch.readInt32BE(RECORD_COUNT),
    maxTimestamp: Number(batch.readBigInt64BE(MAX_TIMESTAMP)),
    producerId: Number(batch.readBigInt64BE(PRODUCER_ID)),
    producerEpoch: batch.readInt16BE(PRODUCER_EPOCH),
    baseSequence: batch.readInt32BE(BASE_SEQUENCE),
    transactional: (batch.readInt16BE(ATTRIBUTES) & TRANSACTIONAL) !== 0,
  };
}

/**
 * Stamps a batch already copied into broker-owned memory as the log would: baseOffset and leader
 * epoch always (not CRC-covered), and with `logAppendTime` the timestamp type and max timestamp
 * too, which are CRC-covered, so the CRC is then recomputed.
 */
export function stampInPlace(batch: Buffer, baseOffset: number, logAppendTime?: number): void {
  batch.writeBigInt64BE(BigInt(baseOffset), BASE_OFFSET);
  batch.writeInt32BE(0, LEADER_EPOCH);
  if (logAppendTime !== undefined) {
    batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES) | TIMESTAMP_TYPE_LOG_APPEND, ATTRIBUTES);
    batch.writeBigInt64BE(BigInt(logAppendTime), MAX_TIMESTAMP);
    batch.writeUInt32BE(crc32c(batch, CRC_START), CRC);
  }
}
