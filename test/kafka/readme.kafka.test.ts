import { dataListener, Koper } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { startBroker } from "@koper/kafka-broker";
import { logLevel } from "kafkajs";
import { expect, it } from "vitest";
import { FAST_CONSUMER, uniqueName, until } from "./support.ts";

// packages/kafka/README.md's "A whole example", kept runnable here so the README stays true.
// Differences: quiet logs, fast group timings, and a unique group name.
it("runs the README example", async () => {
  const broker = await startBroker({ port: 0 });
  const koper = new Koper({
    transport: new KafkaTransport({
      brokers: broker.brokers,
      clientId: "orders-service",
      partitions: 3,
      logLevel: logLevel.NOTHING,
      consumer: FAST_CONSUMER,
    }),
  });

  const totals: number[] = [];
  koper.register(
    dataListener<{ id: number; total: number }>()({
      entity: "Order",
      group: uniqueName("billing"),
      dedup: true,
      onInsertOrder: (order) => void totals.push(order.total),
    }),
  );
  await koper.start();

  await koper.capture.record(undefined, {
    entity: "Order",
    action: "insert",
    key: { id: 1 },
    data: { id: 1, total: 42 },
    source: { orm: "example" },
  });

  await until(() => totals.length > 0, "the README's event");
  expect(totals).toEqual([42]);
  await koper.stop();
  await broker.stop();
});
