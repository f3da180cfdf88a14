import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { hasValidCrc } from "../protocol/record-batch.ts";
import type { Partition, PartitionListener } from "../state/Partition.ts";
import type { Segment } from "../state/Segment.ts";

const SUFFIX = ".log";
// Where DeleteRecords' log start offset is kept, as Kafka's log-start-offset-checkpoint.
const LOG_START = "log-start-offset";
// Kafka's segment file naming: the base offset, zero-padded to 20 digits.
const fileName = (baseOffset: number) => `${String(baseOffset).padStart(20, "0")}${SUFFIX}`;

/**
 * One partition's log on disk: one append-only file per in-memory segment, holding the stored
 * batches byte for byte, and the log start offset DeleteRecords set. Appends are written at once
 * (to the page cache) and fsynced by the store's timer; retention deletes the dropped segment's file.
 */
export class PartitionFiles implements PartitionListener {
  private readonly fds = new Map<Segment, number>();
  private readonly dirty = new Set<number>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Reads every segment file back into `partition`; a torn batch at a file's end is cut off. */
  load(partition: Partition): void {
    const files = readdirSync(this.dir).filter((f) => f.endsWith(SUFFIX)).sort();
    for (const file of files) {
      const path = join(this.dir, file);
      const bytes = readFileSync(path);
      let segment: Segment | undefined;
      let at = 0;
      while (at + 12 <= bytes.length) {
        const size = 12 + bytes.readInt32BE(at + 8);
        if (size < 61 || at + size > bytes.length || !hasValidCrc(bytes.subarray(at, at + size))) break;
        segment = partition.restore(bytes.subarray(at, at + size), segment);
        at += size;
      }
      if (at < bytes.length) truncateSync(path, at); // a crash mid-write: keep what is whole
      if (segment) this.fds.set(segment, openSync(path, "a"));
      else rmSync(path, { force: true });
    }
    this.loadLogStart(partition);
  }

  // A log start inside the segments (DeleteRecords) is applied again, deleting segment files a crash left behind.
  private loadLogStart(partition: Partition): void {
    const path = join(this.dir, LOG_START);
    if (!existsSync(path)) return;
    const offset = Number(readFileSync(path, "utf8"));
    if (!Number.isInteger(offset) || offset <= partition.logStartOffset) return;
    partition.listener = this;
    partition.deleteRecordsBefore(offset);
  }

  /** DeleteRecords moved the log start: written and fsynced at once, before any segment file goes. */
  logStartMoved(offset: number): void {
    const path = join(this.dir, LOG_START);
    const fd = openSync(`${path}.tmp`, "w");
    try {
      writeSync(fd, String(offset));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${path}.tmp`, path);
  }

  /** Writes an appended batch to its segment's file, opening a new file when the log rolled. */
  appended(segment: Segment, bytes: Buffer): void {
    let fd = this.fds.get(segment);
    if (fd === undefined) {
      fd = openSync(join(this.dir, fileName(segment.baseOffset)), "a");
      this.fds.set(segment, fd);
    }
    writeSync(fd, bytes);
    this.dirty.add(fd);
  }

  /** Retention dropped a segment: its file goes too. */
  dropped(segment: Segment): void {
    const fd = this.fds.get(segment);
    if (fd === undefined) return;
    this.fds.delete(segment);
    this.dirty.delete(fd);
    closeSync(fd);
    rmSync(join(this.dir, fileName(segment.baseOffset)), { force: true });
  }

  /** Flushes written batches to disk. */
  fsync(): void {
    for (const fd of this.dirty) fsyncSync(fd);
    this.dirty.clear();
  }

  /** Flushes and closes every file. */
  close(): void {
    this.fsync();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
