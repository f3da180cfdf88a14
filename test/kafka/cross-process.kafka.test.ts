import { dataListener, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { koperFor, spawnFixture, uniqueName, until } from "./support.ts";

describe("KafkaTransport: across processes", () => {
  let broker: Broker;
  const kopers: Koper[] = [];

  beforeEach(async () => {
    broker = await startBroker({ port: 0 });
  });

  afterEach(async () => {
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await broker.stop();
  });

  it("a data listener here receives the events of writes made in another process", async () => {
    const prefix = uniqueName("xproc");
    const koper = koperFor(broker.brokers, { topics: { prefix }, kafka: { partitions: 3 } });
    kopers.push(koper);
    const received = new Map<number, { pid: number; service: string | undefined }>();
    koper.register(
      dataListener<{ id: number; pid: number }>()({
        entity: "Order",
        group: uniqueName("g"),
        onInsertOrder: (order, event) => void received.set(order.id, { pid: order.pid, service: event.source.service }),
      }),
    );
    await koper.start();

    const count = 250;
    const child = spawnFixture("publisher.ts", { BROKERS: broker.brokers.join(","), PREFIX: prefix, COUNT: String(count), BATCH: "50" });
    expect(await child.exited).toBe(0);
    expect(child.lines).toContain(`published ${count}`);

    await until(() => received.size >= count, () => `${count} events (got ${received.size})`);
    expect([...received.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    const writer = received.get(0)!;
    expect(writer.pid).toBe(child.process.pid);
    expect(writer.pid).not.toBe(process.pid);
    expect(writer.service).toBe("publisher-process");
  });
});
