// Regression (issue 13, item 10): when a transport's handle rejected, KeyedScheduler still ran the
// key's next message, so the redelivered one was handled after a later one.
import { Koper, listen, type OutgoingMessage, type Subscription, type SubscriptionHandle, type Transport } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, transportFor, uniqueName, until } from "../kafka/support.ts";

// A KafkaTransport whose dead-letter topic cannot be written: a message that goes there makes
// `handle` reject, and Kafka must deliver it again.
class FailingDeadLetters implements Transport {
  readonly name = "kafka";
  deadLettersRefused = 0;
  constructor(private readonly inner: Transport) {}
  connect(): Promise<void> {
    return this.inner.connect();
  }
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.some((m) => m.topic.endsWith(".dlq"))) {
      this.deadLettersRefused++;
      throw new Error("injected: the dead-letter topic cannot be written");
    }
    return this.inner.send(messages);
  }
  subscribe(subscription: Subscription): Promise<SubscriptionHandle> {
    return this.inner.subscribe(subscription);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe("KafkaTransport: a rejected message is not overtaken by its key's next one", () => {
  const env = brokerPerTest();

  it("counts zero order violations over 4 partitions with 30 injected rejections", { timeout: 120_000 }, async () => {
    const topic = uniqueName("rejected");
    const keys = 60;
    const steps = 8;
    const failing = new Set<string>();
    while (failing.size < 30) failing.add(`${Math.floor(Math.random() * keys)}:${1 + Math.floor(Math.random() * (steps - 2))}`);
    const failedOnce = new Set<string>();
    const transport = new FailingDeadLetters(transportFor(env.broker.brokers, { partitions: 4 }));
    const handledFirst = new Map<number, number[]>(); // first-time handlings per key, in order
    const seen = new Set<string>();
    let violations = 0;
    let rejectionsThrown = 0;
    const consumer = new Koper({ transport, retry: { retries: 0, initialDelayMs: 1, maxDelayMs: 1 } });
    env.kopers.push(consumer);
    consumer.register(
      listen<{ key: number; step: number }>({
        topic,
        group: uniqueName("g"),
        onMessage: async ({ key, step }) => {
          const id = `${key}:${step}`;
          if (failing.has(id) && !failedOnce.has(id)) {
            failedOnce.add(id);
            rejectionsThrown++;
            // Slow to fail, so the key's next messages are queued behind this one meanwhile.
            await new Promise((r) => setTimeout(r, 20));
            throw Object.assign(new Error(`injected failure of ${id}`), { retriable: false });
          }
          if (seen.has(id)) return; // a redelivered duplicate of something already handled
          seen.add(id);
          const list = handledFirst.get(key) ?? [];
          if (list.length > 0 && list[list.length - 1]! > step) violations++;
          list.push(step);
          handledFirst.set(key, list);
        },
      }),
    );
    await consumer.start();

    const producer = new Koper({ transport: transportFor(env.broker.brokers, { partitions: 4 }) });
    env.kopers.push(producer);
    for (let step = 0; step < steps; step++) {
      await Promise.all(Array.from({ length: keys }, (_, key) => producer.sender.send(topic, { key, step }, { key: `k${key}` })));
    }
    await until(() => seen.size === keys * steps, () => `all ${keys * steps} messages handled (got ${seen.size})`, 100_000);
    expect(rejectionsThrown).toBe(30);
    expect(transport.deadLettersRefused).toBe(30);
    expect(violations).toBe(0);
    for (let key = 0; key < keys; key++) expect(handledFirst.get(key), `steps of key ${key}`).toEqual(Array.from({ length: steps }, (_, s) => s));
  });
});
