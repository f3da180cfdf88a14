import { dataListener, type Koper } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, koperFor, uniqueName, until, kafkaTransports } from "./support.ts";

describe.each(kafkaTransports)("KafkaTransport: consumer groups (on $name)", (kind) => {
  const env = brokerPerTest();

  it("gives every event to each of two listener groups, and commits each group's progress", async () => {
    const prefix = uniqueName("groups");
    const count = 300;
    const groups = [uniqueName("billing"), uniqueName("search")];
    const received = new Map(groups.map((g) => [g, [] as number[]]));
    // Two processes' worth: each group lives in its own Koper instance.
    for (const group of groups) {
      const koper = koperFor(env.broker.brokers, { kind, topics: { prefix }, kafka: { partitions: 2 } });
      env.kopers.push(koper);
      koper.register(dataListener<{ id: number }>()({ entity: "Order", group, onInsertOrder: (o) => void received.get(group)!.push(o.id) }));
      await koper.start();
    }
    const publisher = koperFor(env.broker.brokers, { kind, topics: { prefix } });
    env.kopers.push(publisher);
    for (let first = 0; first < count; first += 50) {
      const tx = {};
      publisher.capture.begin(tx);
      for (let id = first; id < first + 50; id++) {
        await publisher.capture.record(tx, { entity: "Order", action: "insert", key: { id }, data: { id }, source: { orm: "test" } });
      }
      await publisher.capture.commit(tx);
    }

    const expected = Array.from({ length: count }, (_, i) => i);
    for (const group of groups) {
      await until(() => received.get(group)!.length >= count, () => `${count} events in ${group} (got ${received.get(group)!.length})`);
      expect([...new Set(received.get(group))].sort((a, b) => a - b)).toEqual(expected);
    }
    // stop() finishes and commits before leaving: each group's committed offsets cover the whole topic.
    await Promise.all(env.kopers.splice(0).map((k) => k.stop()));
    const topic = publisher.topicFor("Order");
    const ends = env.broker.offsets(topic).map((p) => [`${topic}/${p.partition}`, p.highWatermark] as const);
    for (const group of groups) expect(Object.fromEntries(env.broker.committedOffsets(group))).toEqual(Object.fromEntries(ends));
  });

  it("finishes and commits in-flight work before a rebalance moves partitions to a new member", { timeout: 60_000 }, async () => {
    const prefix = uniqueName("rebalance");
    const group = uniqueName("g");
    const count = 200;
    const handledBy = new Map<number, string[]>();
    const member = (name: string) => {
      const koper = koperFor(env.broker.brokers, { kind, topics: { prefix }, kafka: { partitions: 4 } });
      env.kopers.push(koper);
      koper.register(
        dataListener<{ id: number }>()({
          entity: "Order",
          group,
          concurrency: 2,
          onInsertOrder: async (o) => {
            await new Promise((r) => setTimeout(r, 20));
            handledBy.set(o.id, [...(handledBy.get(o.id) ?? []), name]);
          },
        }),
      );
      return koper;
    };
    const first = member("first");
    await first.start();
    const tx = {};
    first.capture.begin(tx);
    for (let id = 0; id < count; id++) {
      await first.capture.record(tx, { entity: "Order", action: "insert", key: { id }, data: { id }, source: { orm: "test" } });
    }
    await first.capture.commit(tx);
    await until(() => handledBy.size >= 20, "the first member to be under way");

    const second = member("second");
    await second.start();
    await until(() => handledBy.size >= count, () => `${count} events (got ${handledBy.size})`, 40_000);
    const byName = (name: string) => [...handledBy.values()].filter((names) => names.includes(name)).length;
    expect(byName("second")).toBeGreaterThan(0);
    // Nothing handled twice: whatever the first member had started was finished and committed before it let go.
    const twice = [...handledBy].filter(([, names]) => names.length > 1).map(([id]) => id);
    expect(twice).toEqual([]);
  });
});
