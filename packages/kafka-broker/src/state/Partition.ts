import { readBatchHeader, stampBatch } from "../protocol/record-batch.ts";

/** A batch as stored in a partition log: its bytes already carry the absolute baseOffset. */
export interface StoredBatch {
  /** First offset of the batch. */
  readonly baseOffset: number;
  /** One past the last offset of the batch. */
  readonly nextOffset: number;
  /** Max timestamp recorded in the batch header. */
  readonly maxTimestamp: number;
  /** The whole batch, header included, as served to fetchers. */
  readonly bytes: Buffer;
}

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

/** One partition's in-memory log with a byte budget, idempotent-producer dedupe and append wake-ups. */
export class Partition {
  /** Stored batches, oldest first. */
  readonly batches: StoredBatch[] = [];
  /** First offset still held; moves forward when the byte budget drops old batches. */
  logStartOffset = 0;
  /** Next offset to assign; also the high watermark and last stable offset (single replica, no transactions). */
  highWatermark = 0;
  /** Bytes held by `batches`. */
  sizeBytes = 0;
  private readonly producers = new Map<number, SequenceWindow[]>();
  private readonly waiters = new Set<() => void>();

  constructor(
    /** Partition index within its topic. */
    readonly index: number,
    /** Byte budget; oldest batches are dropped beyond it (the newest batch is always kept). */
    public maxBytes: number,
    /** Whether batches get LogAppendTime timestamps (topic config message.timestamp.type). */
    readonly logAppendTime: boolean,
  ) {}

  /** Appends one magic-2 batch, re-stamping its offsets; a retried idempotent batch returns its first placement. */
  append(batch: Buffer, now = Date.now()): AppendResult {
    const header = readBatchHeader(batch);
    const duplicate = this.findDuplicate(header.producerId, header.baseSequence);
    if (duplicate !== undefined) return { baseOffset: duplicate, logAppendTime: this.logAppendTime ? now : -1 };
    const baseOffset = this.highWatermark;
    const bytes = stampBatch(batch, baseOffset, this.logAppendTime ? now : undefined);
    const maxTimestamp = this.logAppendTime ? now : header.maxTimestamp;
    this.batches.push({ baseOffset, nextOffset: baseOffset + header.offsetCount, maxTimestamp, bytes });
    this.highWatermark = baseOffset + header.offsetCount;
    this.sizeBytes += bytes.length;
    this.rememberSequence(header.producerId, header.baseSequence, baseOffset);
    this.enforceBudget();
    for (const wake of [...this.waiters]) wake();
    return { baseOffset, logAppendTime: this.logAppendTime ? now : -1 };
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

  // Drops whole batches like Kafka drops whole segments, so the log start offset moves forward.
  private enforceBudget(): void {
    while (this.sizeBytes > this.maxBytes && this.batches.length > 1) {
      const dropped = this.batches.shift()!;
      this.sizeBytes -= dropped.bytes.length;
      this.logStartOffset = this.batches[0]!.baseOffset;
    }
  }

  /** Whether `offset` can be fetched (log start ≤ offset ≤ high watermark). */
  inRange(offset: number): boolean {
    return offset >= this.logStartOffset && offset <= this.highWatermark;
  }

  /** Returns whole batches from the one holding `offset`, up to about `maxBytes` (always at least one batch). */
  read(offset: number, maxBytes: number): Buffer[] {
    let index = this.indexOf(offset);
    const out: Buffer[] = [];
    let size = 0;
    for (; index < this.batches.length; index++) {
      const bytes = this.batches[index]!.bytes;
      if (out.length > 0 && size + bytes.length > maxBytes) break;
      out.push(bytes);
      size += bytes.length;
    }
    return out;
  }

  // Binary search for the first batch whose range ends after `offset`.
  private indexOf(offset: number): number {
    let low = 0;
    let high = this.batches.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.batches[mid]!.nextOffset <= offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Bytes available from `offset` to the end of the log (whole batches). */
  bytesFrom(offset: number): number {
    let total = 0;
    for (let i = this.indexOf(offset); i < this.batches.length; i++) total += this.batches[i]!.bytes.length;
    return total;
  }

  /**
   * ListOffsets by timestamp: the first batch whose max timestamp reaches `timestamp`. Batch
   * granularity is a simplification (Kafka answers per record); clients skip earlier records anyway.
   */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } {
    const batch = this.batches.find((b) => b.maxTimestamp >= timestamp);
    return batch ? { offset: batch.baseOffset, timestamp: batch.maxTimestamp } : { offset: -1, timestamp: -1 };
  }

  /** Registers a callback run after every append; returns the function that unregisters it. */
  onAppend(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }
}
