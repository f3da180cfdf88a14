import * as zlib from "node:zlib";
import { ATTRIBUTES, BATCH_HEADER_SIZE, FIRST_TIMESTAMP, MAX_TIMESTAMP, TIMESTAMP_TYPE_LOG_APPEND } from "./record-batch.ts";

/** The attributes bits naming a batch's compression codec, and gzip's code. */
export const CODEC_MASK = 0x07;
export const GZIP = 1;
const ZSTD = 4;
// Node 22.15+/23.8+ ships zstd; older runtimes cannot read zstd batches' records.
const zstdDecompress = (zlib as { zstdDecompressSync?: (buf: Uint8Array, options?: zlib.ZlibOptions) => Buffer }).zstdDecompressSync;

/**
 * The records part of a magic-2 batch, uncompressed: as stored for codec none, decompressed for
 * gzip and zstd. "unreadable" for codecs the broker does not decode (snappy, lz4); undefined when
 * the data does not decompress (or would exceed `maxOutputLength`).
 */
export function recordBytes(batch: Buffer, maxOutputLength?: number): Buffer | "unreadable" | undefined {
  const payload = batch.subarray(BATCH_HEADER_SIZE);
  const codec = batch.readInt16BE(ATTRIBUTES) & CODEC_MASK;
  const options = maxOutputLength === undefined ? {} : { maxOutputLength };
  try {
    if (codec === 0) return payload;
    if (codec === GZIP) return zlib.gunzipSync(payload, options);
    if (codec === ZSTD && zstdDecompress) return zstdDecompress(payload, options);
    return "unreadable";
  } catch {
    return undefined;
  }
}

/** A zig-zag varint as a JS number, advancing `at` (NaN when truncated or longer than a varlong). */
export function zigzagVarint(bytes: Buffer, at: { offset: number }): number {
  let result = 0;
  let scale = 1;
  for (let n = 0; n < 10; n++) {
    if (at.offset >= bytes.length) return Number.NaN;
    const byte = bytes[at.offset++]!;
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    scale *= 128;
  }
  return Number.NaN;
}

/** Where a timestamp lookup landed inside one batch. */
export interface RecordAtTime {
  /** Offset delta of the record within its batch. */
  readonly offsetDelta: number;
  /** That record's timestamp. */
  readonly timestamp: number;
}

/**
 * The first record of a stored batch whose timestamp is at or after `timestamp` and whose offset
 * delta is at least `minOffsetDelta` (records below the log start do not count), as Kafka's
 * ListOffsets answers (LogSegment.findOffsetByTimestamp). Under LogAppendTime every record has
 * the batch's time. "unreadable" when the records cannot be decoded here (snappy, lz4), undefined
 * when no record qualifies.
 */
export function firstRecordAtOrAfter(batch: Buffer, timestamp: number, minOffsetDelta = 0): RecordAtTime | "unreadable" | undefined {
  const maxTimestamp = Number(batch.readBigInt64BE(MAX_TIMESTAMP));
  if ((batch.readInt16BE(ATTRIBUTES) & TIMESTAMP_TYPE_LOG_APPEND) !== 0) {
    return maxTimestamp >= timestamp ? { offsetDelta: minOffsetDelta, timestamp: maxTimestamp } : undefined;
  }
  const bytes = recordBytes(batch);
  if (bytes === undefined || bytes === "unreadable") return "unreadable";
  const firstTimestamp = Number(batch.readBigInt64BE(FIRST_TIMESTAMP));
  const at = { offset: 0 };
  while (at.offset < bytes.length) {
    const length = zigzagVarint(bytes, at);
    const end = at.offset + length;
    at.offset += 1; // attributes
    const recordTimestamp = firstTimestamp + zigzagVarint(bytes, at);
    const offsetDelta = zigzagVarint(bytes, at);
    if (Number.isNaN(length) || Number.isNaN(recordTimestamp) || Number.isNaN(offsetDelta)) return "unreadable";
    if (recordTimestamp >= timestamp && offsetDelta >= minOffsetDelta) return { offsetDelta, timestamp: recordTimestamp };
    at.offset = end;
  }
  return undefined;
}
