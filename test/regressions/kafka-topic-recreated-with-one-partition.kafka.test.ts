// Regression (issue 13, item 7): after an empty broker restarted on the port, the transport's topic
// came back auto-created with the broker's 1 partition instead of the transport's `partitions`.
import { listen, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, describe, expect, it } from "vitest";
import { koperFor, uniqueName, until } from "../kafka/support.ts";

describe("KafkaTransport: topics lost by a broker restart are created again with the configured partitions", () => {
  const brokers: Broker[] = [];
  const kopers: Koper[] = [];
  afterEach(async () => {
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await Promise.allSettled(brokers.splice(0).map((b) => b.stop()));
  });

  it("re-creates a topic with `partitions` after an empty broker takes over the port", { timeout: 90_000 }, async () => {
    const first = await startBroker({ port: 0 });
    brokers.push(first);
    const topic = uniqueName("recreate");
    const received: number[] = [];
    const retry = { retry: { initialRetryTime: 100, maxRetryTime: 500, retries: 5 } };
    const consumer = koperFor(first.brokers, { kafka: { partitions: 3, ...retry } });
    kopers.push(consumer);
    consumer.register(listen<{ n: number }>({ topic, group: uniqueName("g"), onMessage: (m) => void received.push(m.n) }));
    await consumer.start();
    const producer = koperFor(first.brokers, { kafka: { partitions: 3, ...retry } });
    kopers.push(producer);
    await producer.sender.send(topic, { n: 1 }, { key: "a" });
    await until(() => received.length === 1, "the first message");
    expect(first.offsets(topic)).toHaveLength(3);
    await first.stop();
    // No state, no data dir: the broker that comes back knows nothing.
    const second = await startBroker({ port: first.port });
    brokers.push(second);
    await producer.sender.send(topic, { n: 2 }, { key: "b" });
    await until(() => received.includes(2), "the message sent after the restart", 60_000);
    expect(second.offsets(topic)).toHaveLength(3);
  });
});
