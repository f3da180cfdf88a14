/** Builds a response body with Kafka's big-endian primitive types, growing its buffer as needed. */
export class Writer {
  private buffer = Buffer.allocUnsafe(256);
  private length = 0;
  // Buffers sent as they are after the bytes written before them (zero-copy record data).
  private readonly attached: Array<{ readonly at: number; readonly bytes: Buffer }> = [];
  private attachedLength = 0;

  // Callers must take the offset before touching this.buffer: reserving may replace the buffer.
  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(next, 0, 0, this.length);
      this.buffer = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  /** Writes an int8. */
  int8(value: number): this {
    const at = this.reserve(1);
    this.buffer.writeInt8(value, at);
    return this;
  }

  /** Writes a boolean as one byte. */
  bool(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  /** Writes an int16. */
  int16(value: number): this {
    const at = this.reserve(2);
    this.buffer.writeInt16BE(value, at);
    return this;
  }

  /** Writes an int32. */
  int32(value: number): this {
    const at = this.reserve(4);
    this.buffer.writeInt32BE(value, at);
    return this;
  }

  /** Writes an int64 from a JS number. */
  int64(value: number): this {
    const at = this.reserve(8);
    this.buffer.writeBigInt64BE(BigInt(value), at);
    return this;
  }

  /** Writes a nullable string with an int16 length. */
  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = Buffer.from(value, "utf8");
    this.int16(bytes.length);
    return this.raw(bytes);
  }

  /** Writes a string with an int16 length. */
  string(value: string): this {
    return this.nullableString(value);
  }

  /** Writes nullable bytes with an int32 length. */
  bytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1);
    this.int32(value.length);
    return this.raw(value);
  }

  /** Writes bytes with no length prefix. */
  raw(value: Uint8Array): this {
    const at = this.reserve(value.length);
    this.buffer.set(value, at);
    return this;
  }

  /** Writes an array with an int32 count (null writes -1). */
  array<T>(items: readonly T[] | null, writeItem: (writer: Writer, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** Appends bytes by reference: they are sent after what was written so far, never copied. */
  attach(value: Buffer): this {
    this.attached.push({ at: this.length, bytes: value });
    this.attachedLength += value.length;
    return this;
  }

  /** Total bytes, attached ones included. */
  get size(): number {
    return this.length + this.attachedLength;
  }

  /** Returns the bytes written so far (attached buffers copied in). */
  toBuffer(): Buffer {
    return this.attached.length === 0 ? this.buffer.subarray(0, this.length) : Buffer.concat(this.toChunks());
  }

  /** The bytes as chunks to write in order: written bytes interleaved with attached buffers. */
  toChunks(): Buffer[] {
    const chunks: Buffer[] = [];
    let from = 0;
    for (const { at, bytes } of this.attached) {
      if (at > from) chunks.push(this.buffer.subarray(from, at));
      chunks.push(bytes);
      from = at;
    }
    if (this.length > from) chunks.push(this.buffer.subarray(from, this.length));
    return chunks;
  }
}
