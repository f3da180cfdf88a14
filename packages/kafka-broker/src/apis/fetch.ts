import { ErrorCode } from "../errors.ts";
import type { Reader } from "../protocol/Reader.ts";
import { Writer } from "../protocol/Writer.ts";
import type { Partition } from "../state/Partition.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";
import { lookupPartition } from "./topic-lookup.ts";

interface FetchPartition {
  readonly index: number;
  readonly fetchOffset: number;
  readonly maxBytes: number;
  readonly partition: Partition | ErrorCode;
}

interface FetchRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: readonly FetchPartition[] }>;
}

function readRequest(ctx: BrokerContext, version: number, body: Reader): FetchRequest {
  body.int32(); // replica_id
  const maxWaitMs = body.int32();
  const minBytes = body.int32();
  const maxBytes = version >= 3 ? body.int32() : 0x7fffffff;
  if (version >= 4) body.int8(); // isolation_level: without transactions LSO = high watermark either way
  if (version >= 7) {
    body.int32(); // session_id
    body.int32(); // session_epoch: every fetch is treated as a full fetch
  }
  const topics = body.array((tr) => {
    const name = tr.string();
    const partitions = tr.array((pr): FetchPartition => {
      const index = pr.int32();
      if (version >= 9) pr.int32(); // current_leader_epoch
      const fetchOffset = pr.int64();
      if (version >= 5) pr.int64(); // log_start_offset (followers only)
      return { index, fetchOffset, maxBytes: pr.int32(), partition: lookupPartition(ctx, name, index) };
    });
    return { name, partitions };
  });
  // forgotten_topics_data (v7+) and rack_id (v11+) only matter for sessions and follower fetching.
  return { maxWaitMs, minBytes, maxBytes, topics };
}

// What is left of the response's max_bytes, and whether no partition has returned data yet.
interface FetchBudget {
  left: number;
  firstBatch: boolean;
}

function partitionsOf(request: FetchRequest): FetchPartition[] {
  return request.topics.flatMap((t) => t.partitions);
}

function availableBytes(request: FetchRequest): number {
  let total = 0;
  for (const p of partitionsOf(request)) {
    if (typeof p.partition === "number") continue;
    if (!p.partition.inRange(p.fetchOffset)) return Number.POSITIVE_INFINITY; // errors answer at once
    total += p.partition.bytesFrom(p.fetchOffset);
  }
  return total;
}

// Resolves once min_bytes are available, max_wait_ms passed, or the broker stops.
function waitForData(ctx: BrokerContext, request: FetchRequest): Promise<void> {
  return new Promise((resolve) => {
    const cleanups: Array<() => void> = [];
    const done = () => {
      for (const cleanup of cleanups) cleanup();
      resolve();
    };
    const timer = setTimeout(done, request.maxWaitMs);
    cleanups.push(() => clearTimeout(timer));
    const onStop = () => done();
    ctx.stopping.addEventListener("abort", onStop, { once: true });
    cleanups.push(() => ctx.stopping.removeEventListener("abort", onStop));
    for (const p of partitionsOf(request)) {
      if (typeof p.partition === "number") continue;
      cleanups.push(p.partition.onAppend(() => availableBytes(request) >= request.minBytes && done()));
    }
  });
}

function writePartition(w: Writer, version: number, p: FetchPartition, budget: FetchBudget): void {
  if (typeof p.partition === "number") {
    w.int32(p.index).int16(p.partition).int64(-1);
    if (version >= 4) w.int64(-1);
    if (version >= 5) w.int64(-1);
    if (version >= 4) w.array([], () => {});
    if (version >= 11) w.int32(-1);
    w.bytes(Buffer.alloc(0));
    return;
  }
  const partition = p.partition;
  const inRange = partition.inRange(p.fetchOffset);
  // At the end of the log (or past the budget) the answer is zero bytes, never an empty batch.
  // Only the first partition with data may exceed the limits (KIP-74), so a response stays within
  // fetch.max.bytes plus one batch; librdkafka drops a connection whose response passes receive.message.max.bytes.
  const batches = inRange && budget.left > 0 ? partition.read(p.fetchOffset, Math.min(p.maxBytes, budget.left), budget.firstBatch) : [];
  const size = batches.reduce((sum, b) => sum + b.length, 0);
  budget.left -= size;
  if (size > 0) budget.firstBatch = false;
  w.int32(p.index).int16(inRange ? ErrorCode.NONE : ErrorCode.OFFSET_OUT_OF_RANGE).int64(partition.highWatermark);
  if (version >= 4) w.int64(partition.highWatermark); // last_stable_offset: librdkafka reads nothing beyond it
  if (version >= 5) w.int64(partition.logStartOffset);
  if (version >= 4) w.array([], () => {}); // aborted_transactions
  if (version >= 11) w.int32(-1); // preferred_read_replica
  w.int32(size);
  // Slices of the log, sent by reference: a fetch response copies no record data.
  for (const batch of batches) w.attach(batch);
}

/** Fetch 4–11: long-polls up to max_wait_ms for min_bytes, then returns whole stored batches. */
export const handleFetch: ApiHandler = async (ctx, header, body) => {
  const version = header.apiVersion;
  const request = readRequest(ctx, version, body);
  if (request.maxWaitMs > 0 && availableBytes(request) < request.minBytes && !ctx.stopping.aborted) {
    await waitForData(ctx, request);
  }
  const budget: FetchBudget = { left: request.maxBytes, firstBatch: true };
  const w = new Writer().int32(0); // throttle_time_ms
  if (version >= 7) w.int16(ErrorCode.NONE).int32(0); // error_code, session_id 0: no incremental sessions
  w.array(request.topics, (tw, topic) => {
    tw.string(topic.name);
    tw.array(topic.partitions, (pw, p) => writePartition(pw, version, p, budget));
  });
  return w;
};
