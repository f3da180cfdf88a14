import { dataListener, type Koper } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, koperFor, spawnFixture, uniqueName, until, kafkaTransports } from "./support.ts";

describe.each(kafkaTransports)("KafkaTransport: across processes (on $name)", (kind) => {
  const env = brokerPerTest();

  it("a data listener here receives the events of writes made in another process", async () => {
    const prefix = uniqueName("xproc");
    const koper = koperFor(env.broker.brokers, { kind, topics: { prefix }, kafka: { partitions: 3 } });
    env.kopers.push(koper);
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
    const child = spawnFixture("publisher.ts", { KAFKA_TRANSPORT: kind.name, BROKERS: env.broker.brokers.join(","), PREFIX: prefix, COUNT: String(count), BATCH: "50" });
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
