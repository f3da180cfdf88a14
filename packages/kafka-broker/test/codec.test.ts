import { describe, expect, it } from "vitest";
import { crc32c, decodeRecordBatch, encodeRecordBatch } from "@koper/kafka-broker";
import { hasValidCrc, readBatchHeader, splitBatches, stampInPlace } from "../src/protocol/record-batch.ts";
import { Reader } from "../src/protocol/Reader.ts";
import { readVarint, writeVarint } from "../src/protocol/varint.ts";
import { Writer } from "../src/protocol/Writer.ts";

// The partition stamps its own copy of a batch; this does the same for a test.
function stampBatch(batch: Buffer, baseOffset: number, logAppendTime?: number): Buffer {
  const copy = Buffer.from(batch);
  stampInPlace(copy, baseOffset, logAppendTime);
  return copy;
}

describe("crc32c", () => {
  it("matches the Castagnoli check values", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeroes
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43); // RFC 3720 B.4: 32 bytes of ones
  });

  it("checks a sub-range", () => {
    const bytes = Buffer.from("xx123456789yy");
    expect(crc32c(bytes, 2, 11)).toBe(0xe3069283);
  });
});

describe("varints", () => {
  it("round-trips zig-zag values including varlong timestamps", () => {
    for (const value of [0, 1, -1, 63, -64, 64, 300, -300, 2 ** 31, -(2 ** 31), 1_700_000_000_000, -1_700_000_000_000]) {
      const out: number[] = [];
      writeVarint(out, value);
      expect(readVarint(Uint8Array.from(out), { offset: 0 })).toBe(value);
    }
  });

  it("encodes small values as Kafka does", () => {
    const out: number[] = [];
    writeVarint(out, -1);
    writeVarint(out, 1);
    writeVarint(out, 150);
    expect(out).toEqual([0x01, 0x02, 0xac, 0x02]);
  });
});

describe("Reader and Writer", () => {
  it("round-trips every primitive", () => {
    const w = new Writer().int8(-3).bool(true).int16(-2).int32(70_000).int64(2 ** 40).string("héllo").nullableString(null).bytes(Buffer.from([1, 2])).bytes(null);
    w.array([1, 2, 3], (aw, n) => aw.int32(n)).array(null, () => {});
    for (let i = 0; i < 100; i++) w.string("grow the buffer past its first allocation");
    const r = new Reader(Buffer.from(w.toBuffer()));
    expect([r.int8(), r.bool(), r.int16(), r.int32(), r.int64(), r.string(), r.nullableString()]).toEqual([-3, true, -2, 70_000, 2 ** 40, "héllo", null]);
    expect([...r.bytes()]).toEqual([1, 2]);
    expect(r.nullableBytes()).toBeNull();
    expect(r.array((ar) => ar.int32())).toEqual([1, 2, 3]);
    expect(r.nullableArray((ar) => ar.int32())).toBeNull();
    for (let i = 0; i < 100; i++) r.string();
    expect(r.remaining).toBe(0);
  });

  it("throws a ProtocolError on truncated input and absurd array counts", () => {
    expect(() => new Reader(Buffer.from([0, 5, 0x61])).string()).toThrow(/Truncated/);
    expect(() => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).array((r) => r.int8())).toThrow(/Truncated/);
  });
});

describe("record batches", () => {
  const records = [
    { key: Buffer.from("k"), value: Buffer.from("v"), headers: [["h", Buffer.from("x")]] as const, timestamp: 1_700_000_000_000 },
    { key: null, value: null, headers: [], timestamp: 1_700_000_000_005 },
  ];

  for (const gzip of [false, true]) {
    it(`encodes and decodes ${gzip ? "gzip" : "uncompressed"} batches with valid CRCs`, () => {
      const batch = encodeRecordBatch(records, { gzip, timestamp: 1_700_000_000_000 });
      expect(hasValidCrc(batch)).toBe(true);
      expect(readBatchHeader(batch)).toMatchObject({ offsetCount: 2, recordCount: 2, maxTimestamp: 1_700_000_000_005, producerId: -1 });
      const decoded = decodeRecordBatch(stampBatch(batch, 40));
      expect(decoded.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null, r.timestamp])).toEqual([
        [40, "k", "v", 1_700_000_000_000],
        [41, null, null, 1_700_000_000_005],
      ]);
      expect(decoded[0]!.headers.map(([name, value]) => [name, value?.toString()])).toEqual([["h", "x"]]);
    });
  }

  it("keeps the CRC valid when stamping offsets, and recomputes it when stamping LogAppendTime", () => {
    const batch = encodeRecordBatch(records);
    expect(hasValidCrc(stampBatch(batch, 123_456))).toBe(true);
    const appended = stampBatch(batch, 7, 1_800_000_000_000);
    expect(hasValidCrc(appended)).toBe(true);
    expect(readBatchHeader(appended).maxTimestamp).toBe(1_800_000_000_000);
    expect(appended.readInt16BE(21) & 0x08).toBe(0x08);
    expect(batch.readBigInt64BE(0)).toBe(0n); // the producer's buffer is never modified
  });

  it("splits concatenated batches and refuses corrupt or old-format input", () => {
    const a = encodeRecordBatch([{ key: null, value: Buffer.from("a") }]);
    const b = encodeRecordBatch([{ key: null, value: Buffer.from("b") }]);
    expect(splitBatches(Buffer.concat([a, b]))).toHaveLength(2);
    expect(splitBatches(Buffer.concat([a, b.subarray(0, 30)]))).toBe("corrupt");
    expect(splitBatches(Buffer.alloc(0))).toBe("corrupt");
    const old = Buffer.from(a);
    old.writeInt8(1, 16);
    expect(splitBatches(old)).toBe("old_magic");
  });
});
