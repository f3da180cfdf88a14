import { readBatchHeader, stampInPlace } from "../protocol/record-batch.ts";
import { firstRecordAtOrAfter } from "../protocol/record-data.ts";
import { Segment } from "./Segment.ts";

/** What an append did: where the batch landed, or that it was a retried duplicate. */
export interface AppendResult {
  /** Offset of the batch's first record. */
  readonly baseOffset: number;
  /** Log-append time stamped on the batch, or -1 under CreateTime. */
  readonly logAppendTime: number;
}

interface SequenceWindow {
  readonly firstSequence: number;
  readonly baseOffset: number;
}

// Kafka remembers the last 5 batches per producer, matching max.in.flight for idempotence.
const DEDUPE_WINDOW = 5;

// Largest segment: big enough that a partition holds few of them, small enough that retention
// drops a small share of the budget at a time.
const MAX_SEGMENT_BYTES = 1024 * 1024;

/** Receives what a partition does to its log, so a disk store can mirror it. */
export interface PartitionListener {
  /** A batch (already stamped) was appended to `segment`. */
  appended(segment: Segment, bytes: Buffer): void;
  /** Retention or DeleteRecords dropped `segment`. */
  dropped(segment: Segment): void;
  /** DeleteRecords moved the log start offset (called before the segments below it are dropped). */
  logStartMoved(offset: number): void;
}

/** The size a segment rolls at under a memory budget: eight or more per budget, so one drop frees at most an eighth of it. */
export function segmentLimit(maxBytes: number): number {
  return Math.max(1, Math.min(MAX_SEGMENT_BYTES, Math.floor(maxBytes / 8)));
}

/**
 * One partition's log: segments of batches under a memory budget (retention drops whole oldest
 * segments in O(1) amortized), idempotent-producer dedupe, and append wake-ups.
 */
export class Partition {
  /** First offset still held; moves forward when the budget drops old segments or DeleteRecords moves it. */
  logStartOffset = 0;
  /** Next offset to assign; also the high watermark and last stable offset (single replica, no transactions). */
  highWatermark = 0;
  /** Memory held by the log (buffers, index, overhead): what the budget is compared with. */
  sizeBytes = 0;
  /** Mirrors appends and drops (the --data-dir store); none by default. */
  listener: PartitionListener | undefined;
  private readonly segments: Segment[] = [];
  private readonly producers = new Map<number, SequenceWindow[]>();
  private readonly waiters = new Set<() => void>();

  constructor(
    /** Partition index within its topic. */
    readonly index: number,
    /** Memory budget; oldest segments are dropped beyond it (the newest segment is always kept). */
    public maxBytes: number,
    /** Whether batches get LogAppendTime timestamps (topic config message.timestamp.type). */
    readonly logAppendTime: boolean,
  ) {}

  /** Batches held. */
  get batchCount(): number {
    let count = 0;
    for (const segment of this.segments) count += segment.count;
    return count;
  }

  /** Segments held, oldest first (read-only use). */
  get heldSegments(): readonly Segment[] {
    return this.segments;
  }

  /** Appends one magic-2 batch, re-stamping its offsets; a retried idempotent batch returns its first placement. */
  append(batch: Buffer, now = Date.now()): AppendResult {
    const header = readBatchHeader(batch);
    const duplicate = this.findDuplicate(header.producerId, header.baseSequence);
    if (duplicate !== undefined) return { baseOffset: duplicate, logAppendTime: this.logAppendTime ? now : -1 };
    const baseOffset = this.highWatermark;
    const maxTimestamp = this.logAppendTime ? now : header.maxTimestamp;
    const segment = this.segmentFor(batch.length);
    const before = segment.costBytes;
    const stored = segment.append(batch, baseOffset, baseOffset + header.offsetCount, maxTimestamp);
    stampInPlace(stored, baseOffset, this.logAppendTime ? now : undefined);
    this.sizeBytes += segment.costBytes - before;
    this.highWatermark = baseOffset + header.offsetCount;
    this.rememberSequence(header.producerId, header.baseSequence, baseOffset);
    this.listener?.appended(segment, stored);
    this.enforceBudget();
    for (const wake of [...this.waiters]) wake();
    return { baseOffset, logAppendTime: this.logAppendTime ? now : -1 };
  }

  /** Puts back a batch read from disk as it was stored (offsets already stamped); used when loading. */
  restore(stored: Buffer, segment: Segment | undefined): Segment {
    const header = readBatchHeader(stored);
    const baseOffset = Number(stored.readBigInt64BE(0));
    if (this.segments.length === 0) this.logStartOffset = baseOffset;
    const target = segment ?? this.newSegment(baseOffset);
    const before = target.costBytes;
    target.append(stored, baseOffset, baseOffset + header.offsetCount, header.maxTimestamp);
    this.sizeBytes += target.costBytes - before;
    this.highWatermark = baseOffset + header.offsetCount;
    this.rememberSequence(header.producerId, header.baseSequence, baseOffset);
    return target;
  }

  private segmentFor(size: number): Segment {
    const last = this.segments[this.segments.length - 1];
    return last?.fits(size) ? last : this.newSegment(this.highWatermark);
  }

  private newSegment(baseOffset: number): Segment {
    const limit = segmentLimit(this.maxBytes);
    // The first segment grows from small (most test topics hold a few messages); a log that rolls is busy.
    const segment = new Segment(baseOffset, limit, this.segments.length > 0);
    this.segments.push(segment);
    this.sizeBytes += segment.costBytes;
    return segment;
  }

  private findDuplicate(producerId: number, sequence: number): number | undefined {
    if (producerId < 0 || sequence < 0) return undefined;
    return this.producers.get(producerId)?.find((w) => w.firstSequence === sequence)?.baseOffset;
  }

  private rememberSequence(producerId: number, sequence: number, baseOffset: number): void {
    if (producerId < 0 || sequence < 0) return;
    const window = this.producers.get(producerId) ?? [];
    window.push({ firstSequence: sequence, baseOffset });
    if (window.length > DEDUPE_WINDOW) window.shift();
    this.producers.set(producerId, window);
  }

  // Drops whole segments like Kafka's retention.bytes, so the log start offset moves forward.
  // Segments number at most a few hundred, so shift() here is cheap; batches are never shifted.
  private enforceBudget(): void {
    while (this.sizeBytes > this.maxBytes && this.segments.length > 1) {
      const dropped = this.segments.shift()!;
      this.sizeBytes -= dropped.costBytes;
      this.logStartOffset = Math.max(this.logStartOffset, this.segments[0]!.baseOffset);
      this.listener?.dropped(dropped);
    }
  }

  /**
   * DeleteRecords: moves the log start offset forward to `offset` (at most the high watermark; an
   * offset at or below the current start changes nothing) and returns the new start, Kafka's low
   * watermark. As Kafka's log does, it drops the segments wholly below the new start but keeps the
   * newest one, so the log's end survives a restart; records below the start in a kept segment
   * are no longer served.
   */
  deleteRecordsBefore(offset: number): number {
    const target = Math.min(offset, this.highWatermark);
    if (target <= this.logStartOffset) return this.logStartOffset;
    this.logStartOffset = target;
    this.listener?.logStartMoved(target);
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= target) {
      const dropped = this.segments.shift()!;
      this.sizeBytes -= dropped.costBytes;
      this.listener?.dropped(dropped);
    }
    return this.logStartOffset;
  }

  /** Whether `offset` can be fetched (log start ≤ offset ≤ high watermark). */
  inRange(offset: number): boolean {
    return offset >= this.logStartOffset && offset <= this.highWatermark;
  }

  // Binary search for the segment holding `offset` (the last whose base is ≤ offset).
  private segmentAt(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    if (high < 0) return 0;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (with `atLeastOne`, at least one
   * batch however big), as slices that share memory with the log: a fetch response copies nothing.
   */
  read(offset: number, maxBytes: number, atLeastOne = true): Buffer[] {
    const out: Buffer[] = [];
    let left = maxBytes;
    for (let s = this.segmentAt(offset); s < this.segments.length; s++) {
      const segment = this.segments[s]!;
      const first = out.length === 0 ? segment.batchAt(offset) : 0;
      if (first >= segment.count) continue;
      const { bytes, next } = segment.slice(first, left, atLeastOne && out.length === 0);
      if (bytes.length > 0) out.push(bytes);
      left -= bytes.length;
      if (next < segment.count || left <= 0) break;
    }
    return out;
  }

  /** Bytes available from `offset` to the end of the log (whole batches). */
  bytesFrom(offset: number): number {
    let total = 0;
    const s = this.segmentAt(offset);
    for (let i = s; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      total += segment.used - (i === s ? segment.position(segment.batchAt(offset)) : 0);
    }
    return total;
  }

  /** Every batch held, oldest first (for tests and tools). */
  *batches(): IterableIterator<Buffer> {
    for (const segment of this.segments) for (let i = 0; i < segment.count; i++) yield segment.batch(i);
  }

  /**
   * ListOffsets by timestamp, as Kafka answers it: in the first batch whose max timestamp reaches
   * `timestamp`, the first record at or after it (its offset and timestamp). Snappy and LZ4
   * records are not decoded here, so such a batch answers with its base offset and max timestamp.
   * Records below the log start offset (DeleteRecords inside a batch) are never answered.
   */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } {
    for (const segment of this.segments) {
      for (let i = segment.batchAt(this.logStartOffset); i < segment.count; i++) {
        const max = segment.batchMaxTimestamp(i);
        if (max < timestamp) continue;
        const base = segment.batchBase(i);
        const deleted = Math.max(0, this.logStartOffset - base);
        const found = firstRecordAtOrAfter(segment.batch(i), timestamp, deleted);
        if (found === "unreadable") return { offset: base + deleted, timestamp: max };
        if (found) return { offset: base + found.offsetDelta, timestamp: found.timestamp };
      }
    }
    return { offset: -1, timestamp: -1 };
  }

  /** Registers a callback run after every append; returns the function that unregisters it. */
  onAppend(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }
}
