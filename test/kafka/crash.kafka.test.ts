import { dataListener, Headers, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { koperFor, spawnFixture, uniqueName, until, type Child, kafkaTransports } from "./support.ts";

describe.each(kafkaTransports)("KafkaTransport: a group member crashes mid-batch (on $name)", (kind) => {
  let broker: Broker;
  const kopers: Koper[] = [];
  let child: Child | undefined;

  beforeEach(async () => {
    broker = await startBroker({ port: 0 });
  });

  afterEach(async () => {
    child?.process.kill("SIGKILL");
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await broker.stop();
  });

  it("redelivers everything the dead member did not commit to the surviving member", { timeout: 60_000 }, async () => {
    const prefix = uniqueName("crash");
    const group = uniqueName("g");
    const count = 400;
    const publisher = koperFor(broker.brokers, { kind, topics: { prefix }, kafka: { partitions: 4 } });
    kopers.push(publisher);
    const topic = publisher.topicFor("Order");

    // The first member is alone in the group, so it owns every partition when it stalls.
    child = spawnFixture("crash-consumer.ts", { KAFKA_TRANSPORT: kind.name, BROKERS: broker.brokers.join(","), PREFIX: prefix, GROUP: group, STALL_AFTER: "60" });
    await until(() => child!.lines.includes("started"), "the crash consumer to start");
    for (let first = 0; first < count; first += 100) {
      const tx = {};
      publisher.capture.begin(tx);
      for (let id = first; id < first + 100; id++) {
        await publisher.capture.record(tx, { entity: "Order", action: "insert", key: { id }, data: { id }, source: { orm: "test" } });
      }
      await publisher.capture.commit(tx);
    }
    expect(publisher.metrics().publishFailed).toBe(0);
    await until(() => child!.lines.includes("stalled"), "the crash consumer to stall mid-batch", 30_000);
    child.process.kill("SIGKILL");
    await child.exited;
    const handledByDead = new Set(child.lines.filter((l) => l.startsWith("got ")).map((l) => l.slice(4)));
    expect(handledByDead.size).toBeGreaterThan(0);
    const committedBeforeSurvivor = broker.committedOffsets(group);

    const survivor = koperFor(broker.brokers, { kind, topics: { prefix } });
    kopers.push(survivor);
    const handledBySurvivor = new Set<string>();
    survivor.register(dataListener()({ entity: "Order", group, onInsertOrder: (_o, event) => void handledBySurvivor.add(event.id) }));
    await survivor.start();

    // Every record at or after the dead member's committed offset must reach the survivor.
    const uncommitted: string[] = [];
    const all: string[] = [];
    for (const { partition } of broker.offsets(topic)) {
      const committed = committedBeforeSurvivor.get(`${topic}/${partition}`) ?? 0;
      for (const record of broker.records(topic, partition)) {
        const id = record.headers.find(([name]) => name === Headers.id)![1]!.toString();
        all.push(id);
        if (record.offset >= committed) uncommitted.push(id);
      }
    }
    expect(all).toHaveLength(count);
    expect(uncommitted.length).toBeGreaterThan(0);
    await until(
      () => uncommitted.every((id) => handledBySurvivor.has(id)),
      () => `${uncommitted.length} uncommitted events at the survivor (got ${uncommitted.filter((id) => handledBySurvivor.has(id)).length})`,
      40_000,
    );
    // None lost: each event was handled by one member or the other (some by both: at-least-once).
    const missing = all.filter((id) => !handledBySurvivor.has(id) && !handledByDead.has(id));
    expect(missing).toEqual([]);
  });
});
