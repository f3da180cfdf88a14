import { dataListener, deadLetterTopic, Headers, type DataEvent, type Koper } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, koperFor, produceRaw, readTopic, uniqueName, until, kafkaTransports } from "./support.ts";

function orderDraft(id: number) {
  return { entity: "Order", action: "insert" as const, key: { id }, data: { id }, source: { orm: "test" } };
}

describe.each(kafkaTransports)("KafkaTransport: dead letters (on $name)", (kind) => {
  const env = brokerPerTest();

  it("sends a message that is not a Koper envelope to <topic>.dlq with the reason, and keeps consuming", async () => {
    const koper = koperFor(env.broker.brokers, { kind, topics: { prefix: uniqueName("poison") } });
    env.kopers.push(koper);
    const handled: number[] = [];
    koper.register(
      dataListener<{ id: number }>()({ entity: "Order", group: uniqueName("g"), onInsertOrder: (order) => void handled.push(order.id) }),
    );
    await koper.start();
    const topic = koper.topicFor("Order");

    await koper.capture.record(undefined, orderDraft(1));
    const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]);
    await produceRaw(env.broker.brokers, topic, [
      { key: "Order:x", value: garbage },
      { key: "Order:y", value: JSON.stringify({ hello: "not an event" }) },
    ]);
    await koper.capture.record(undefined, orderDraft(2));

    await until(() => handled.length >= 2, () => `both valid events (got ${handled.join(",")})`);
    expect(handled.sort()).toEqual([1, 2]);

    const dead = await readTopic(env.broker.brokers, deadLetterTopic(topic), 2);
    expect(dead).toHaveLength(2);
    const byKey = new Map(dead.map((m) => [m.key, m]));
    const first = byKey.get("Order:x")!;
    expect(first.value).toEqual(garbage);
    expect(first.headers[Headers.dlqReason]).toMatch(/^invalid_envelope: .*not UTF-8 JSON/);
    expect(first.headers[Headers.dlqAttempts]).toBe("0");
    expect(first.headers[Headers.originalTopic]).toBe(topic);
    const second = byKey.get("Order:y")!;
    expect(second.headers[Headers.dlqReason]).toMatch(/^invalid_envelope: /);
    expect(second.headers[Headers.originalTopic]).toBe(topic);
    expect(second.headers[Headers.dlqAttempts]).toBe("0");
  });

  it("retries a throwing handler with backoff, then dead-letters it with attempts and origin headers", async () => {
    const koper = koperFor(env.broker.brokers, { kind,
      topics: { prefix: uniqueName("retry") },
      retry: { retries: 3, initialDelayMs: 5, maxDelayMs: 20 },
    });
    env.kopers.push(koper);
    const attempts = new Map<number, number>();
    const handled: number[] = [];
    let poisonEvent: DataEvent | undefined;
    koper.register(
      dataListener<{ id: number }>()({
        entity: "Order",
        group: uniqueName("g"),
        onInsertOrder: (order, event) => {
          const n = (attempts.get(order.id) ?? 0) + 1;
          attempts.set(order.id, n);
          if (order.id === 13) {
            poisonEvent = event;
            throw new Error("order 13 is cursed");
          }
          if (order.id === 7 && n < 3) throw new Error("flaky twice");
          handled.push(order.id);
        },
      }),
    );
    await koper.start();
    const topic = koper.topicFor("Order");
    for (const id of [7, 13, 14]) await koper.capture.record(undefined, orderDraft(id));

    await until(() => handled.includes(14) && handled.includes(7), () => `orders 7 and 14 (got ${handled.join(",")})`);
    const [dead] = await readTopic(env.broker.brokers, deadLetterTopic(topic), 1);
    expect(attempts.get(13)).toBe(4);
    expect(attempts.get(7)).toBe(3);
    expect(handled).not.toContain(13);
    expect(dead!.key).toBe("Order:13");
    expect(dead!.headers[Headers.dlqAttempts]).toBe("4");
    expect(dead!.headers[Headers.dlqReason]).toContain("order 13 is cursed");
    expect(dead!.headers[Headers.originalTopic]).toBe(topic);
    expect(dead!.headers[Headers.id]).toBe(poisonEvent!.id);
    // Origin points at the very record in the source topic.
    const partition = Number(dead!.headers[Headers.originalPartition]);
    const offset = dead!.headers[Headers.originalOffset]!;
    const source = env.broker.records(topic, partition);
    const original = source.find((r) => String(r.offset) === offset);
    expect(original?.key?.toString()).toBe("Order:13");
  });
});
