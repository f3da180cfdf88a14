// Index entries are three float64s per batch: byte position, base offset, max timestamp.
const STRIDE = 3;
// A Buffer, its ArrayBuffer and the segment object itself, as V8 accounts them (measured, rounded up).
const OBJECT_OVERHEAD = 512;
const FIRST_CAPACITY = 1024;

/**
 * A run of consecutive batches in one growable buffer, like a Kafka log segment: batches are
 * copied in back to back, indexed by typed arrays (no object per batch), served as zero-copy
 * slices, and dropped together when retention removes the segment. `costBytes` is what it holds
 * in memory, index and slack included, so a byte budget over segments bounds RSS.
 */
export class Segment {
  /** One past the last offset held. */
  nextOffset: number;
  /** Bytes of batches held. */
  used = 0;
  /** Batches held. */
  count = 0;
  private buffer: Buffer;
  private index = new Float64Array(4 * STRIDE);

  constructor(
    /** Offset of the first batch. */
    readonly baseOffset: number,
    /** Size a segment grows to before the log rolls a new one (a bigger first batch still fits). */
    private readonly limit: number,
    /** Start at full size (a log that already rolled is being filled) instead of growing from 1 KiB. */
    full = false,
  ) {
    this.nextOffset = baseOffset;
    this.buffer = Buffer.allocUnsafeSlow(full ? limit : Math.min(limit, FIRST_CAPACITY));
  }

  /** Whether a batch of `size` bytes belongs in this segment rather than a new one. */
  fits(size: number): boolean {
    return this.count === 0 || this.used + size <= this.limit;
  }

  /** Memory held: buffer capacity, index capacity and object overhead. */
  get costBytes(): number {
    return this.buffer.length + this.index.byteLength + OBJECT_OVERHEAD;
  }

  /** Copies a batch in and returns the slice that now holds it (for stamping in place). */
  append(batch: Uint8Array, baseOffset: number, nextOffset: number, maxTimestamp: number): Buffer {
    this.grow(batch.length);
    const at = this.used;
    this.buffer.set(batch, at);
    if ((this.count + 1) * STRIDE > this.index.length) {
      const next = new Float64Array(this.index.length * 2);
      next.set(this.index);
      this.index = next;
    }
    const entry = this.count * STRIDE;
    this.index[entry] = at;
    this.index[entry + 1] = baseOffset;
    this.index[entry + 2] = maxTimestamp;
    this.count += 1;
    this.used += batch.length;
    this.nextOffset = nextOffset;
    return this.buffer.subarray(at, at + batch.length);
  }

  // Doubling keeps copies amortized O(1) per byte; a segment never grows past its limit unless its first batch is bigger.
  private grow(extra: number): void {
    const needed = this.used + extra;
    if (needed <= this.buffer.length) return;
    const capacity = Math.max(needed, Math.min(this.limit, this.buffer.length * 2));
    const next = Buffer.allocUnsafeSlow(capacity);
    this.buffer.copy(next, 0, 0, this.used);
    this.buffer = next;
  }

  /** Index of the first batch whose range ends after `offset` (count when none). */
  batchAt(offset: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.batchEnd(mid) <= offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private batchEnd(i: number): number {
    return i + 1 < this.count ? this.index[(i + 1) * STRIDE + 1]! : this.nextOffset;
  }

  /** Byte position of batch `i` (or `used` past the last one). */
  position(i: number): number {
    return i < this.count ? this.index[i * STRIDE]! : this.used;
  }

  /** Base offset of batch `i`. */
  batchBase(i: number): number {
    return this.index[i * STRIDE + 1]!;
  }

  /** Max timestamp of batch `i`. */
  batchMaxTimestamp(i: number): number {
    return this.index[i * STRIDE + 2]!;
  }

  /**
   * Whole batches from batch `first`, as one slice of at most `maxBytes` (at least one batch when
   * `atLeastOne`), and the index after the last one taken. The slice shares memory with the log.
   */
  slice(first: number, maxBytes: number, atLeastOne: boolean): { bytes: Buffer; next: number } {
    const start = this.position(first);
    let next = first;
    while (next < this.count && (this.position(next + 1) - start <= maxBytes || (atLeastOne && next === first))) next++;
    return { bytes: this.buffer.subarray(start, this.position(next)), next };
  }

  /** The bytes of batch `i`. */
  batch(i: number): Buffer {
    return this.buffer.subarray(this.position(i), this.position(i + 1));
  }
}
