import type { OutgoingMessage } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, uniqueName, kafkaTransports } from "./support.ts";

describe.each(kafkaTransports)("KafkaTransport: sends bigger than the broker's message.max.bytes (on $name)", (kind) => {
  const env = brokerPerTest();

  it("splits a 3 MB send of one key into requests under maxBatchBytes, in order, so a 1 MiB broker limit accepts it", async () => {
    const topic = uniqueName("large");
    const transport = kind.create(env.broker.brokers, { partitions: 1 });
    try {
      const messages: OutgoingMessage[] = Array.from({ length: 300 }, (_, i) => ({
        topic,
        key: "one-key",
        value: Buffer.concat([Buffer.from(`${String(i).padStart(4, "0")}:`), Buffer.alloc(10_000, 1)]),
        headers: { "koper-id": String(i) },
      }));
      await transport.send(messages);
      const stored = env.broker.records(topic);
      expect(stored.map((r) => Number(r.value!.subarray(0, 4).toString()))).toEqual(Array.from({ length: 300 }, (_, i) => i));
      // Each produce request's batch stayed under Kafka's default limit: several batches, none over 1 MiB.
      const batches = [...env.broker.state.topics.get(topic)!.partitions[0]!.batches()];
      expect(batches.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(1_048_588);
    } finally {
      await transport.close();
    }
  });
});
