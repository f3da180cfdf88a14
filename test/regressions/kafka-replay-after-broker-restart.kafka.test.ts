// Regression (issue 13, item 9): after a broker restart the group re-read from old offsets (commits
// failed with UNKNOWN_MEMBER_ID or met the stopped broker): 1,725 duplicates in one reported run.
import { listen, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, describe, expect, it } from "vitest";
import { koperFor, uniqueName, until } from "../kafka/support.ts";

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

  it("resumes from the committed offsets after two restarts: at most the in-flight messages again, and with dedup none out of order", { timeout: 120_000 }, async () => {
    const first = await startBroker({ port: 0 });
    brokers.push(first);
    const topic = uniqueName("recovery");
    const concurrency = 8;
    const plain = new Tally();
    const deduped = new Tally();
    const retry = { retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 } };
    // Short consumer retries: the commit after a stopped broker fails for good instead of waiting it out.
    const consumer = koperFor(first.brokers, { kafka: { partitions: 3, retry: { initialRetryTime: 100, maxRetryTime: 200, retries: 2 } } });
    kopers.push(consumer);
    // Handlers of steps 10 and 11 wait for their gate: the broker is stopped while they are in
    // flight, so the commit at the end of their batch fails and has to be made after the restart.
    const gates = new Map<number, { opened: Promise<void>; open: () => void; blocked: number }>();
    for (const step of [10, 11]) {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      gates.set(step, { opened, open, blocked: 0 });
    }
    const handle = (tally: Tally) => async (m: Step) => {
      const gate = gates.get(m.step);
      if (gate) {
        gate.blocked++;
        await gate.opened;
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
    // Two restarts, each with handlers in flight.
    let serving = first;
    for (const step of [10, 11]) {
      await sendStep(step);
      const gate = gates.get(step)!;
      await until(() => gate.blocked >= 2, "handlers in flight in both groups");
      await serving.stop();
      gate.open();
      await new Promise((r) => setTimeout(r, 2500)); // the batches finish; their commits meet a stopped broker and fail
      serving = await startBroker({ port: first.port, state: first.state });
      brokers.push(serving);
    }
    for (let step = 12; step < steps; step++) await sendStep(step);
    const total = keys * steps;
    await until(() => plain.distinct === total && deduped.distinct === total, () => `all ${total} handled (plain ${plain.distinct}, dedup ${deduped.distinct})`, 90_000);
    console.log(`after two broker restarts: ${plain.duplicates} duplicate(s) without dedup, ${plain.violations} overtaking(s); with dedup ${deduped.duplicates} / ${deduped.violations}`);
    // At most the messages in flight when the broker went away (`concurrency` per member) come twice.
    expect(plain.duplicates).toBeLessThanOrEqual(2 * concurrency);
    expect(deduped.duplicates).toBe(0);
    expect(deduped.violations).toBe(0);
  });
});
