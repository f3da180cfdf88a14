import { ErrorCode } from "../errors.ts";
import { hasValidCrc, readBatchHeader } from "./record-batch.ts";
import { recordBytes, zigzagVarint as varint } from "./record-data.ts";

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

// A bound on what decompression may produce, so a small "bomb" cannot exhaust memory.
function recordsOf(batch: Buffer, maxBytes: number): Buffer | "unchecked" | undefined {
  const records = recordBytes(batch, Math.max(64 * 1024 * 1024, maxBytes * 16));
  return records === "unreadable" ? "unchecked" : records;
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
