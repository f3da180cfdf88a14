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

/** Events/s through capture → codec → in-process transport → runtime → a no-op handler. */
async function throughput(events: number, batch: number): Promise<number> {
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
  const started = performance.now();
  for (let i = 0; i < events; i += batch) {
    const tx = {};
    koper.capture.begin(tx);
    for (let j = i; j < Math.min(events, i + batch); j++) await koper.capture.record(tx, draft(j % 1000));
    await koper.capture.commit(tx);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await koper.stop();
  return events / seconds;
}

/**
 * Events/s of the consuming side alone: N events are published before the listener subscribes,
 * then timed from subscribe to the last handler call (decode, zod validation, routing, handler).
 */
async function dispatchOnly(events: number): Promise<number> {
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
  const started = performance.now();
  await consumer.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await consumer.stop();
  return events / seconds;
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

/** The core benchmark: in-process dispatch throughput and latency. */
export async function runCoreBench(): Promise<void> {
  console.log("\n@koper/core, in-process transport (no-op handler)");
  await throughput(20_000, 100); // warm-up: JIT, allocations
  for (const batch of [1, 100]) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await throughput(100_000, batch));
    report(`dispatch throughput, ${batch === 1 ? "one event per transaction" : "100 events per transaction"}`, `${fmt(median(runs))} events/s (median of 3)`);
  }
  const dispatch = [];
  for (let i = 0; i < 3; i++) dispatch.push(await dispatchOnly(100_000));
  report("dispatch only (decode, validate, route, handler)", `${fmt(median(dispatch))} events/s (median of 3)`);
  for (const rate of [1_000, 10_000]) {
    report(`publish→handled latency at ${fmt(rate)} events/s offered`, percentiles(await latencyAt(rate, 2)));
  }
}
