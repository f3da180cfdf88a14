import { InProcessTransport, Koper, dataListener, type ChangeDraft, type DataEvent } from "@koper/core";
import { fmt, percentiles, report } from "./support.ts";
import { median } from "./stats.ts";

const draft = (id: number): ChangeDraft => ({
  entity: "Order",
  action: "update",
  key: { id },
  data: { id, number: `A-${id}`, qty: id % 7, price: "19.90", updatedAt: new Date() },
  changes: ["qty"],
  source: { orm: "bench", table: "orders" },
});

/** Events/s and CPU µs/event of `body`, run `events` times in batches that yield between them. */
async function rateOf(events: number, body: (i: number) => void): Promise<{ rate: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < events; i += 1000) {
    for (let j = i; j < Math.min(events, i + 1000); j++) body(j);
    await Promise.resolve();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: events / seconds, cpu: (cpu.user + cpu.system) / events };
}

/**
 * The same-run baseline that fixes this machine's speed: the handler called directly with the same
 * payload (the draft built as in the Koper runs), and a JSON encode + decode of the event Koper delivers.
 */
async function baseline(events: number): Promise<{ call: number; json: number; callCpu: number; jsonCpu: number }> {
  let sink = 0;
  const handler = (row: { qty: number }, event: { id: string }) => void (sink += row.qty + event.id.length);
  const sample = await oneEvent();
  const call = await rateOf(events, (i) => {
    const d = draft(i % 1000);
    handler(d.data as { qty: number }, sample);
  });
  const json = await rateOf(events, () => void (sink += (JSON.parse(JSON.stringify(sample)) as DataEvent).transaction.position));
  if (sink === -1) console.log(sink); // keeps the work observable
  return { call: call.rate, json: json.rate, callCpu: call.cpu, jsonCpu: json.cpu };
}

async function oneEvent(): Promise<DataEvent> {
  let got!: (event: DataEvent) => void;
  const received = new Promise<DataEvent>((resolve) => (got = resolve));
  const koper = new Koper().register(dataListener()({ entity: "Order", onUpdateOrder: (_o: unknown, event: DataEvent) => got(event) }));
  await koper.start();
  await koper.capture.record(undefined, draft(1));
  const event = await received;
  await koper.stop();
  return event;
}

/** Events/s through capture → codec → in-process transport → runtime → a no-op handler. */
async function throughput(events: number, batch: number): Promise<Run> {
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const koper = new Koper({ concurrency: 64 }).register(
    dataListener()({
      entity: "Order",
      onUpdateOrder: () => {
        if (++handled === events) done();
      },
    }),
  );
  await koper.start();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await writeTransactions(koper, events, batch);
  await finished;
  const run = runOf(events, started, cpu0);
  await koper.stop();
  return run;
}

// `events` updates captured in transactions of `batch` events each, as an ORM adapter records them.
async function writeTransactions(koper: Koper, events: number, batch: number): Promise<void> {
  for (let i = 0; i < events; i += batch) {
    const tx = {};
    koper.capture.begin(tx);
    for (let j = i; j < Math.min(events, i + batch); j++) await koper.capture.record(tx, draft(j % 1000));
    await koper.capture.commit(tx);
  }
}

interface Run {
  rate: number;
  cpu: number;
}

function runOf(events: number, started: number, cpu0: NodeJS.CpuUsage): Run {
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: events / seconds, cpu: (cpu.user + cpu.system) / events };
}

/**
 * Events/s of the publishing side alone: capture → producer → in-process transport, no listener
 * (the transport keeps the last messages for groups that may subscribe later, as by default).
 * Timed up to `stop()`, which sends what is still queued.
 */
async function publishOnly(events: number, batch: number): Promise<Run> {
  const koper = new Koper({ concurrency: 64 });
  await koper.start();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await writeTransactions(koper, events, batch);
  await koper.stop();
  return runOf(events, started, cpu0);
}

/**
 * Events/s of the consuming side alone: N events are published before the listener subscribes,
 * then timed from subscribe to the last handler call (decode, zod validation, routing, handler).
 */
async function dispatchOnly(events: number): Promise<Run> {
  const transport = new InProcessTransport({ retention: events, capacity: events });
  const producer = new Koper({ transport });
  await producer.start();
  for (let i = 0; i < events; i += 100) {
    const tx = {};
    producer.capture.begin(tx);
    for (let j = i; j < Math.min(events, i + 100); j++) await producer.capture.record(tx, draft(j % 1000));
    await producer.capture.commit(tx);
  }
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  // A second Koper on the same transport: its listener group is new, so it starts from the oldest message.
  const consumer = new Koper({ transport, concurrency: 64 }).register(
    dataListener()({
      entity: "Order",
      onUpdateOrder: () => {
        if (++handled === events) done();
      },
    }),
  );
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await consumer.start();
  await finished;
  const run = runOf(events, started, cpu0);
  await consumer.stop();
  return run;
}

/** publish→handled latency at a fixed offered rate (events/s), in ms. */
async function latencyAt(rate: number, seconds: number): Promise<number[]> {
  const samples: number[] = [];
  const koper = new Koper().register(
    dataListener()({
      entity: "Order",
      onUpdateOrder: (_o: unknown, event: DataEvent) => {
        samples.push(performance.timeOrigin + performance.now() - event.time.published!);
      },
    }),
  );
  await koper.start();
  const total = rate * seconds;
  const started = performance.now();
  for (let sent = 0; sent < total; ) {
    // Offer the events due by now, then yield: a fixed rate, not a flood.
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent++) await koper.capture.record(undefined, draft(sent % 1000));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await koper.stop();
  return samples;
}

/** The core benchmark: in-process dispatch throughput and latency, next to a same-run baseline. */
export async function runCoreBench(): Promise<void> {
  const source = import.meta.resolve("@koper/core").includes("/src/") ? "sources (tsx)" : "built dist/";
  console.log(`\n@koper/core, in-process transport (no-op handler; core from ${source}; CPU is user+system of the process)`);
  await throughput(20_000, 100); // warm-up: JIT, allocations
  const base = await baseline(200_000);
  report("baseline: the handler called directly (same payload)", `${fmt(base.call)} calls/s, ${fmt(base.callCpu, 2)} µs CPU/call`);
  report("baseline: JSON.stringify + JSON.parse of the event", `${fmt(base.json)} round trips/s, ${fmt(base.jsonCpu, 2)} µs CPU/trip`);
  const line = (runs: Run[]) => {
    const rate = median(runs.map((r) => r.rate));
    const cpu = median(runs.map((r) => r.cpu));
    return `${fmt(rate)} events/s, ${fmt(cpu, 2)} µs CPU/event = ${fmt(cpu / base.jsonCpu, 2)} JSON round trips (median of 3)`;
  };
  for (const batch of [1, 100]) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await throughput(100_000, batch));
    report(`dispatch throughput, ${batch === 1 ? "one event per transaction" : "100 events per transaction"}`, line(runs));
  }
  for (const batch of [1, 100]) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await publishOnly(100_000, batch));
    report(`publish only (no listener), ${batch === 1 ? "one event per transaction" : "100 events per transaction"}`, line(runs));
  }
  const dispatch = [];
  for (let i = 0; i < 3; i++) dispatch.push(await dispatchOnly(100_000));
  report("dispatch only (copy or decode+validate, route, handler)", line(dispatch));
  for (const rate of [1_000, 10_000]) {
    report(`publish→handled latency at ${fmt(rate)} events/s offered`, percentiles(await latencyAt(rate, 2)));
  }
}
