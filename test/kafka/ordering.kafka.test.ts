import { dataListener, type Koper } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, koperFor, uniqueName, until, kafkaTransports } from "./support.ts";

describe.each(kafkaTransports)("KafkaTransport: ordering per key (on $name)", (kind) => {
  const env = brokerPerTest();

  it("keeps each key's events in order across 4 partitions, with keys handled concurrently", async () => {
    const prefix = uniqueName("order");
    const koper = koperFor(env.broker.brokers, { kind, topics: { prefix }, kafka: { partitions: 4 } });
    env.kopers.push(koper);
    const seen = new Map<number, number[]>();
    koper.register(
      dataListener<{ id: number; step: number }>()({
        entity: "Order",
        group: uniqueName("g"),
        onInsertOrder: async (order) => record(order.id, order.step),
        onUpdateOrder: async (order) => record(order.id, order.step),
      }),
    );
    // A random pause per event: if the transport or runtime let a key's events overtake each other, they would.
    async function record(id: number, step: number): Promise<void> {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      const steps = seen.get(id) ?? [];
      steps.push(step);
      seen.set(id, steps);
    }
    await koper.start();

    const keys = 40;
    const steps = 10;
    for (let step = 0; step < steps; step++) {
      // One transaction per step: all keys' writes are published as one batch.
      const tx = {};
      koper.capture.begin(tx);
      for (let id = 0; id < keys; id++) {
        await koper.capture.record(tx, {
          entity: "Order",
          action: step === 0 ? "insert" : "update",
          key: { id },
          data: { id, step },
          source: { orm: "test" },
        });
      }
      await koper.capture.commit(tx);
    }
    expect(koper.metrics().publishFailed).toBe(0);

    const total = () => [...seen.values()].reduce((n, s) => n + s.length, 0);
    await until(() => total() >= keys * steps, () => `${keys * steps} events (got ${total()})`);
    const expected = Array.from({ length: steps }, (_, i) => i);
    for (let id = 0; id < keys; id++) expect(seen.get(id), `steps of key ${id}`).toEqual(expected);

    const topic = koper.topicFor("Order");
    const offsets = env.broker.offsets(topic);
    expect(offsets).toHaveLength(4);
    // Keys really spread over partitions: ordering held across them, not on one log.
    expect(offsets.filter((p) => p.highWatermark > 0).length).toBeGreaterThan(1);
    expect(offsets.reduce((n, p) => n + p.highWatermark, 0)).toBe(keys * steps);
  });
});
