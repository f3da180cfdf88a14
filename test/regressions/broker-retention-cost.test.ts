// Regression (issue 13, item 2): retention dropped batches with Array.shift() (appends fell from
// 143k/s to ~3k/s with 600k batches held) and the budget counted only batch bytes (64 MiB of
// 100-byte batches was ~600 MB of RSS).
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { encodeRecordBatch } from "@koper/kafka-broker";
import { Partition } from "../../packages/kafka-broker/src/state/Partition.ts";

const MiB = 1024 * 1024;

// A full GC before reading RSS, so freed segments do not count against the log.
function collect(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("partition retention under many small batches", () => {
  it("drops in O(1) amortized and keeps RSS within 2x the budget over 1M one-record batches", { timeout: 120_000 }, () => {
    const budget = 32 * MiB;
    const p = new Partition(0, budget, false);
    const batch = encodeRecordBatch([{ key: Buffer.from("key-1"), value: Buffer.from("a small value of a few bytes") }]);
    collect();
    const before = process.memoryUsage().rss;
    const count = 1_000_000;
    // With an O(n) drop per batch (Array.shift over ~400k batches) this loop never ends in time.
    for (let i = 0; i < count; i++) p.append(batch);
    collect();
    const grown = process.memoryUsage().rss - before;
    expect(p.highWatermark).toBe(count);
    expect(p.logStartOffset).toBeGreaterThan(0);
    expect(p.batchCount).toBe(count - p.logStartOffset);
    expect(p.sizeBytes).toBeLessThanOrEqual(budget);
    // The budget counts what the log really holds: raw batch bytes alone would fit ~2x more batches.
    expect(p.batchCount * batch.length).toBeLessThan(budget);
    expect(grown / budget).toBeLessThan(2);
    console.log(`RSS grew ${(grown / MiB).toFixed(1)} MiB for a ${budget / MiB} MiB budget (${(grown / budget).toFixed(2)}x); ${p.batchCount} batches held`);
  });
});
