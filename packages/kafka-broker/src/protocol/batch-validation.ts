import * as zlib from "node:zlib";
import { ErrorCode } from "../errors.ts";
import { BATCH_HEADER_SIZE, hasValidCrc, readBatchHeader } from "./record-batch.ts";

const CODEC_MASK = 0x07;
const GZIP = 1;
const ZSTD = 4;
// Node 22.15+/23.8+ ships zstd; older runtimes check zstd batches by their header only.
const zstdDecompress = (zlib as { zstdDecompressSync?: (buf: Uint8Array, options?: zlib.ZlibOptions) => Buffer }).zstdDecompressSync;

/**
 * Checks one produced magic-2 batch as Kafka's LogValidator does before appending it: size within
 * `max.message.bytes` (MESSAGE_TOO_LARGE), a matching CRC-32C, a header whose record count and
 * last offset delta agree, and records (uncompressed, gzip, zstd) that are in offset sequence and
 * exactly fill the batch (CORRUPT_MESSAGE otherwise). Snappy and LZ4 records are not decoded:
 * their headers are checked, and consumers' own decoders see the rest.
 */
export function validateBatch(batch: Buffer, maxMessageBytes: number): ErrorCode {
  if (batch.length > maxMessageBytes) return ErrorCode.MESSAGE_TOO_LARGE;
  if (!hasValidCrc(batch)) return ErrorCode.CORRUPT_MESSAGE;
  const header = readBatchHeader(batch);
  if (header.recordCount < 1 || header.offsetCount !== header.recordCount) return ErrorCode.CORRUPT_MESSAGE;
  const records = recordsOf(batch, maxMessageBytes);
  if (records === "unchecked") return ErrorCode.NONE;
  if (records === undefined) return ErrorCode.CORRUPT_MESSAGE;
  return recordsInSequence(records, header.recordCount) ? ErrorCode.NONE : ErrorCode.CORRUPT_MESSAGE;
}

function recordsOf(batch: Buffer, maxBytes: number): Buffer | "unchecked" | undefined {
  const payload = batch.subarray(BATCH_HEADER_SIZE);
  const codec = batch.readInt16BE(21) & CODEC_MASK;
  // A bound on what decompression may produce, so a small "bomb" cannot exhaust memory.
  const options = { maxOutputLength: Math.max(64 * 1024 * 1024, maxBytes * 16) };
  try {
    if (codec === 0) return payload;
    if (codec === GZIP) return zlib.gunzipSync(payload, options);
    if (codec === ZSTD && zstdDecompress) return zstdDecompress(payload, options);
    return "unchecked";
  } catch {
    return undefined;
  }
}

// Walks the records: each length-prefixed record must fit, carry offsetDelta = its index, and the
// last must end exactly where the data ends.
function recordsInSequence(bytes: Buffer, count: number): boolean {
  const at = { offset: 0 };
  for (let i = 0; i < count; i++) {
    const length = varint(bytes, at);
    const end = at.offset + length;
    if (length < 0 || Number.isNaN(length) || end > bytes.length) return false;
    at.offset += 1; // attributes
    if (Number.isNaN(varint(bytes, at))) return false; // timestampDelta (varlong; only its extent matters)
    if (varint(bytes, at) !== i || at.offset > end) return false;
    at.offset = end;
  }
  return at.offset === bytes.length;
}

// A zig-zag varint as a JS number (NaN when truncated or longer than a varlong).
function varint(bytes: Buffer, at: { offset: number }): number {
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
