import { gunzipSync, gzipSync } from "node:zlib";
import { crc32c } from "./crc32c.ts";
import { BATCH_HEADER_SIZE, CRC_START } from "./record-batch.ts";
import { CODEC_MASK, GZIP } from "./record-data.ts";
import { readVarint, writeVarint } from "./varint.ts";

/** One record as tests write and read it. */
export interface RecordData {
  /** Record key, null for none. */
  readonly key: Buffer | null;
  /** Record value, null for a tombstone. */
  readonly value: Buffer | null;
  /** Record headers in order. */
  readonly headers?: ReadonlyArray<readonly [string, Buffer | null]>;
  /** Create timestamp in ms; defaults to the batch's first timestamp. */
  readonly timestamp?: number;
}

/** A record decoded from a stored batch, with its absolute offset. */
export interface StoredRecord extends Required<RecordData> {
  /** Absolute offset in the partition. */
  readonly offset: number;
}

/** Options for {@link encodeRecordBatch}. */
export interface EncodeBatchOptions {
  /** Compress with gzip (codec 1) instead of none. */
  readonly gzip?: boolean;
  /** First timestamp; defaults to now. */
  readonly timestamp?: number;
}

function varintBytes(value: number): Buffer {
  const out: number[] = [];
  writeVarint(out, value);
  return Buffer.from(out);
}

function nullableField(field: Buffer | null): Buffer[] {
  return field === null ? [varintBytes(-1)] : [varintBytes(field.length), field];
}

function encodeRecord(record: RecordData, index: number, firstTimestamp: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), varintBytes((record.timestamp ?? firstTimestamp) - firstTimestamp), varintBytes(index)];
  parts.push(...nullableField(record.key), ...nullableField(record.value));
  const headers = record.headers ?? [];
  parts.push(varintBytes(headers.length));
  for (const [name, value] of headers) parts.push(...nullableField(Buffer.from(name, "utf8")), ...nullableField(value));
  const body = Buffer.concat(parts);
  return Buffer.concat([varintBytes(body.length), body]);
}

/** Encodes records as one magic-2 batch at baseOffset 0 with a correct CRC-32C (used by tests and tools). */
export function encodeRecordBatch(records: readonly RecordData[], options: EncodeBatchOptions = {}): Buffer {
  const first = options.timestamp ?? Date.now();
  const plain = Buffer.concat(records.map((record, index) => encodeRecord(record, index, first)));
  const payload = options.gzip ? gzipSync(plain) : plain;
  const batch = Buffer.alloc(BATCH_HEADER_SIZE + payload.length);
  const maxTimestamp = records.reduce((max, r) => Math.max(max, r.timestamp ?? first), first);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(options.gzip ? GZIP : 0, 21);
  batch.writeInt32BE(records.length - 1, 23);
  batch.writeBigInt64BE(BigInt(first), 27);
  batch.writeBigInt64BE(BigInt(maxTimestamp), 35);
  batch.writeBigInt64BE(-1n, 43);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(records.length, 57);
  payload.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch, CRC_START), 17);
  return batch;
}

function readField(bytes: Buffer, state: { offset: number }): Buffer | null {
  const length = readVarint(bytes, state);
  if (length < 0) return null;
  const field = bytes.subarray(state.offset, state.offset + length);
  state.offset += length;
  return Buffer.from(field);
}

/** Decodes the records of a stored batch; supports no compression and gzip (other codecs throw). */
export function decodeRecordBatch(batch: Buffer): StoredRecord[] {
  const baseOffset = Number(batch.readBigInt64BE(0));
  const firstTimestamp = Number(batch.readBigInt64BE(27));
  const codec = batch.readInt16BE(21) & CODEC_MASK;
  if (codec !== 0 && codec !== GZIP) throw new Error(`decodeRecordBatch: compression codec ${codec} is not supported; only none and gzip`);
  const payload = batch.subarray(BATCH_HEADER_SIZE);
  const bytes = codec === GZIP ? gunzipSync(payload) : payload;
  const count = batch.readInt32BE(57);
  const state = { offset: 0 };
  const records: StoredRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = readVarint(bytes, state);
    const end = state.offset + length;
    state.offset += 1; // attributes
    const timestamp = firstTimestamp + readVarint(bytes, state);
    const offset = baseOffset + readVarint(bytes, state);
    const key = readField(bytes, state);
    const value = readField(bytes, state);
    const headers: Array<readonly [string, Buffer | null]> = [];
    const headerCount = readVarint(bytes, state);
    for (let h = 0; h < headerCount; h++) {
      const name = readField(bytes, state)?.toString("utf8") ?? "";
      headers.push([name, readField(bytes, state)]);
    }
    state.offset = end;
    records.push({ offset, timestamp, key, value, headers });
  }
  return records;
}
