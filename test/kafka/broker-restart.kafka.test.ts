import { listen, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, describe, expect, it } from "vitest";
import { koperFor, uniqueName, until, kafkaTransports } from "./support.ts";

describe.each(kafkaTransports)("KafkaTransport: broker restart during production (on $name)", (kind) => {
  const brokers: Broker[] = [];
  const kopers: Koper[] = [];

  afterEach(async () => {
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await Promise.allSettled(brokers.splice(0).map((b) => b.stop()));
  });

  it("retries sends made while the broker is down, and loses nothing once it is back", { timeout: 60_000 }, async () => {
    const first = await startBroker({ port: 0 });
    brokers.push(first);
    const topic = uniqueName("restart");
    const received = new Set<number>();
    const consumer = koperFor(first.brokers, { kind });
    kopers.push(consumer);
    consumer.register(listen<{ n: number }>({ topic, group: uniqueName("g"), onMessage: (m) => void received.add(m.n) }));
    await consumer.start();
    const producer = koperFor(first.brokers, { kind, kafka: { retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 } } });
    kopers.push(producer);

    for (let n = 0; n < 50; n++) await producer.sender.send(topic, { n }, { key: `k${n % 7}` });
    await until(() => received.size === 50, () => `the first 50 messages (got ${received.size})`);

    await first.stop();
    // Sent while no broker listens: kafkajs keeps retrying, so these must resolve once it is back.
    const duringOutage = Array.from({ length: 20 }, (_, i) => producer.sender.send(topic, { n: 50 + i }, { key: `k${i % 7}` }));
    const outcome = Promise.allSettled(duringOutage);
    await new Promise((r) => setTimeout(r, 1000));
    const second = await startBroker({ port: first.port, state: first.state });
    brokers.push(second);
    const results = await outcome;
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);

    for (let n = 70; n < 100; n++) await producer.sender.send(topic, { n }, { key: `k${n % 7}` });
    await until(() => received.size === 100, () => `all 100 messages after the restart (got ${received.size})`, 40_000);
    expect([...received].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
