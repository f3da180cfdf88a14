import { listen, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, describe, expect, it } from "vitest";
import { koperFor, uniqueName, until } from "./support.ts";

interface Step {
  readonly key: number;
  readonly step: number;
}

// Records what one listener saw: how often each message came, and first-time handlings that
// overtook a later step of their key.
class Tally {
  readonly count = new Map<string, number>();
  readonly last = new Map<number, number>();
  violations = 0;
  see({ key, step }: Step): void {
    const id = `${key}:${step}`;
    const times = (this.count.get(id) ?? 0) + 1;
    this.count.set(id, times);
    if (times > 1) return;
    if ((this.last.get(key) ?? -1) > step) this.violations++;
    this.last.set(key, Math.max(step, this.last.get(key) ?? -1));
  }
  get distinct(): number {
    return this.count.size;
  }
  get duplicates(): number {
    let n = 0;
    for (const times of this.count.values()) n += times - 1;
    return n;
  }
}

describe("KafkaTransport: consumer recovery after a broker restart", () => {
  const brokers: Broker[] = [];
  const kopers: Koper[] = [];
  afterEach(async () => {
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await Promise.allSettled(brokers.splice(0).map((b) => b.stop()));
  });

  it("resumes from the committed offsets: at most the in-flight messages again, and with dedup none out of order", { timeout: 120_000 }, async () => {
    const first = await startBroker({ port: 0 });
    brokers.push(first);
    const topic = uniqueName("recovery");
    const concurrency = 8;
    const plain = new Tally();
    const deduped = new Tally();
    const retry = { retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 } };
    const consumer = koperFor(first.brokers, { kafka: { partitions: 3, ...retry } });
    kopers.push(consumer);
    // Handlers of step 10 and later wait for `gate`: the broker is stopped while they are in flight,
    // so the commit at the end of their batch fails and has to be made after the restart.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let blocked = 0;
    const handle = (tally: Tally) => async (m: Step) => {
      if (m.step >= 10) {
        blocked++;
        await gate;
      }
      tally.see(m);
    };
    consumer.register(listen<Step>({ topic, group: uniqueName("plain"), concurrency, onMessage: handle(plain) }));
    consumer.register(listen<Step>({ topic, group: uniqueName("dedup"), concurrency, dedup: true, onMessage: handle(deduped) }));
    await consumer.start();
    const producer = koperFor(first.brokers, { kafka: { partitions: 3, ...retry } });
    kopers.push(producer);
    const keys = 30;
    const steps = 20;
    const sendStep = (step: number) => Promise.all(Array.from({ length: keys }, (_, key) => producer.sender.send(topic, { key, step }, { key: `k${key}` })));
    for (let step = 0; step < 10; step++) await sendStep(step);
    await until(() => plain.distinct === 300 && deduped.distinct === 300, "the first 300 messages");
    await sendStep(10);
    await until(() => blocked >= 2, "handlers in flight in both groups");
    await first.stop();
    open();
    await new Promise((r) => setTimeout(r, 1000)); // the batches finish; their commits meet a stopped broker
    brokers.push(await startBroker({ port: first.port, state: first.state }));
    for (let step = 11; step < steps; step++) await sendStep(step);
    const total = keys * steps;
    await until(() => plain.distinct === total && deduped.distinct === total, () => `all ${total} handled (plain ${plain.distinct}, dedup ${deduped.distinct})`, 90_000);
    console.log(`after a broker restart: ${plain.duplicates} duplicate(s) without dedup, ${plain.violations} overtaking(s); with dedup ${deduped.duplicates} / ${deduped.violations}`);
    // Each group member had at most `concurrency` messages in flight per partition batch when the broker went away.
    expect(plain.duplicates).toBeLessThanOrEqual(concurrency);
    expect(deduped.duplicates).toBe(0);
    expect(deduped.violations).toBe(0);
  });
});
