import { ProtocolError } from "../errors.ts";

/** Reads Kafka's big-endian primitive types from a request body, failing loudly on truncation. */
export class Reader {
  /** Current read position inside `buffer`. */
  offset: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  // Every read goes through here so a short frame becomes a ProtocolError, not a RangeError deep in Buffer.
  private take(n: number): number {
    if (n < 0 || this.offset + n > this.buffer.length) {
      throw ProtocolError.truncated(n, this.remaining);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  /** Reads an int8. */
  int8(): number {
    return this.buffer.readInt8(this.take(1));
  }

  /** Reads a boolean (one byte, non-zero is true). */
  bool(): boolean {
    return this.int8() !== 0;
  }

  /** Reads an int16. */
  int16(): number {
    return this.buffer.readInt16BE(this.take(2));
  }

  /** Reads an int32. */
  int32(): number {
    return this.buffer.readInt32BE(this.take(4));
  }

  /** Reads an int64 as a JS number (offsets and ids stay far below 2^53 in a test broker). */
  int64(): number {
    return Number(this.buffer.readBigInt64BE(this.take(8)));
  }

  /** Reads a nullable string with an int16 length. */
  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.take(length);
    return this.buffer.toString("utf8", at, at + length);
  }

  /** Reads a non-null string; a null is read as "" since some clients send null client ids. */
  string(): string {
    return this.nullableString() ?? "";
  }

  /** Reads nullable bytes with an int32 length, as a view into the frame (copy it before keeping it). */
  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    const at = this.take(length);
    return this.buffer.subarray(at, at + length);
  }

  /** Reads bytes with an int32 length; null becomes an empty buffer. */
  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }

  /** Reads a nullable array with an int32 count. */
  nullableArray<T>(readItem: (reader: Reader) => T): T[] | null {
    const count = this.int32();
    if (count < 0) return null;
    // Each item takes at least one byte, so a count above the bytes left is a corrupt frame.
    if (count > this.remaining) throw ProtocolError.truncated(count, this.remaining);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(readItem(this));
    return items;
  }

  /** Reads an array with an int32 count; null becomes empty. */
  array<T>(readItem: (reader: Reader) => T): T[] {
    return this.nullableArray(readItem) ?? [];
  }
}
