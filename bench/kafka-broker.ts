// The embedded broker under big and many messages: how long one 20/40/90 MB Produce takes (and
// whether another client's round trip gets through meanwhile), appends/s once a partition holds
// 600k small batches, and what RSS a full partition budget really costs.
import { connect, type Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { encodeRecordBatch, startBroker, type Broker, type BrokerOptions } from "@koper/kafka-broker";
import { fmt, report } from "./support.ts";

const MiB = 1024 * 1024;

/** Runs the broker benchmarks and prints figures and ratios. */
export async function runKafkaBrokerBench(): Promise<void> {
  console.log("\nKafka broker (in-process, raw protocol clients)");
  for (const mb of [20, 40, 90]) await bigRequest(mb);
  await appendsWithManyBatches(600_000);
  await rssAgainstBudget(32 * MiB);
}

// Frames a request with header v1; `body` is written as is.
function frame(apiKey: number, apiVersion: number, body: Buffer, correlationId: number): Buffer {
  const client = Buffer.from("bench");
  const header = Buffer.alloc(10 + client.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(client.length, 8);
  client.copy(header, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

// Produce v3 of one batch to partition 0 of `topic`, acks=1.
function produceRequest(topic: string, batch: Buffer): Buffer {
  const name = Buffer.from(topic);
  const head = Buffer.alloc(2 + 2 + 4 + 4 + 2 + name.length + 4 + 4 + 4);
  let at = head.writeInt16BE(-1, 0); // transactional id null
  at = head.writeInt16BE(1, at);
  at = head.writeInt32BE(30_000, at);
  at = head.writeInt32BE(1, at);
  at = head.writeInt16BE(name.length, at);
  at += name.copy(head, at);
  at = head.writeInt32BE(1, at);
  at = head.writeInt32BE(0, at);
  head.writeInt32BE(batch.length, at);
  return Buffer.concat([head, batch]);
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

// Resolves with the first complete response frame (after its size and correlation id).
function firstResponse(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (got >= 4 && got >= head.readInt32BE(0) + 4) resolve(head.subarray(8, 4 + head.readInt32BE(0)));
    });
    socket.once("close", () => reject(new Error("connection closed")));
  });
}

// The error code of the only partition in a Produce v3 response.
function produceError(body: Buffer): number {
  const nameLength = body.readInt16BE(4);
  return body.readInt16BE(4 + 2 + nameLength + 4 + 4);
}

async function bigRequest(mb: number): Promise<void> {
  const broker = await startBroker({ port: 0, maxMessageBytes: 200 * MiB, maxPartitionBytes: 256 * MiB } as BrokerOptions);
  try {
    broker.createTopic("big", 1);
    const value = Buffer.alloc(100_000, 7);
    const records = Array.from({ length: Math.round((mb * MiB) / value.length) }, (_, i) => ({ key: Buffer.from(`k${i}`), value }));
    const request = frame(0, 3, produceRequest("big", encodeRecordBatch(records)), 1);
    const uploader = await open(broker.port);
    const other = await open(broker.port);
    const started = performance.now();
    const done = firstResponse(uploader);
    uploader.write(request);
    // Another client's ApiVersions while the upload is in flight.
    const otherStarted = performance.now();
    const otherDone = firstResponse(other).then(() => performance.now() - otherStarted);
    other.write(frame(18, 0, Buffer.alloc(0), 2));
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000).unref());
    const outcome = await Promise.race([done.then((body) => (produceError(body) === 0 ? ("ok" as const) : (`error ${produceError(body)}` as const))), timeout]);
    const seconds = (performance.now() - started) / 1000;
    const otherMs = await Promise.race([otherDone, timeout]);
    const label = `Produce of one ${mb} MB request (${fmt(request.length / MiB, 1)} MiB frame)`;
    if (outcome === "timeout") report(label, "timed out after 60 s");
    else if (outcome !== "ok") report(label, `refused: ${outcome}`);
    else report(label, `${fmt(seconds, 2)} s, ${fmt(request.length / MiB / seconds, 1)} MiB/s; other client's round trip ${typeof otherMs === "number" ? `${fmt(otherMs, 1)} ms` : "timed out"}`);
    uploader.destroy();
    other.destroy();
  } finally {
    await broker.stop();
  }
}

function smallBatch(i: number): Buffer {
  return encodeRecordBatch([{ key: Buffer.from(`key-${i % 1000}`), value: Buffer.from(`value-${i}`) }], { timestamp: 1_700_000_000_000 });
}

function partitionOf(broker: Broker, topic: string) {
  broker.createTopic(topic, 1);
  return broker.state.topics.get(topic)!.partitions[0]!;
}

async function appendsWithManyBatches(held: number): Promise<void> {
  const sample = smallBatch(0).length;
  const broker = await startBroker({ port: 0, maxPartitionBytes: 1024 * MiB });
  try {
    const partition = partitionOf(broker, "many");
    const batch = smallBatch(1);
    for (let i = 0; i < held; i++) partition.append(batch);
    // The budget is now exactly what the log holds, so every later append drops the oldest data.
    partition.maxBytes = partition.sizeBytes;
    const appends = 20_000;
    const started = performance.now();
    let i = 0;
    const deadline = started + 30_000;
    for (; i < appends && performance.now() < deadline; i++) partition.append(batch);
    const rate = i / ((performance.now() - started) / 1000);
    report(`appends/s with ${fmt(held)} batches held (budget full, ${sample} B batches)`, `${fmt(rate)} appends/s${i < appends ? ` (stopped after 30 s, ${fmt(i)} done)` : ""}`);
  } finally {
    await broker.stop();
  }
}

// A full GC, so RSS shows what is live rather than garbage not yet collected.
function collect(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

async function rssAgainstBudget(budget: number): Promise<void> {
  const broker = await startBroker({ port: 0, maxPartitionBytes: budget });
  try {
    const partition = partitionOf(broker, "rss");
    // Encoded up front: the client's own garbage would otherwise show in RSS as well.
    const batches = Array.from({ length: 1000 }, (_, i) => smallBatch(i));
    collect();
    const before = process.memoryUsage().rss;
    const count = 1_000_000;
    const started = performance.now();
    let i = 0;
    for (; i < count && performance.now() - started < 60_000; i++) partition.append(batches[i % batches.length]!);
    collect();
    const grown = process.memoryUsage().rss - before;
    report(
      `RSS growth (after GC), ${fmt(i)} one-record batches, budget ${fmt(budget / MiB)} MiB`,
      `${fmt(grown / MiB)} MiB = ${fmt(grown / budget, 2)}× budget; log start ${fmt(partition.logStartOffset)}; ${fmt(i / ((performance.now() - started) / 1000))} appends/s`,
    );
  } finally {
    await broker.stop();
  }
}
