import { CONTENT_TYPE, CONTENT_TYPE_V2, dataListener, listen, type DataEvent } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, koperFor, readTopic, uniqueName, until, kafkaTransports } from "./support.ts";

// A mixed fleet: producers on envelope v1 (an old Koper, or `envelopeVersion: 1`) and on v2, one consumer group.
describe.each(kafkaTransports)("envelope v1 and v2 on one topic (embedded broker) (on $name)", (kind) => {
  const ctx = brokerPerTest();

  async function producer(prefix: string, envelopeVersion: 1 | 2) {
    const koper = koperFor(ctx.broker.brokers, { kind, topics: { prefix }, envelopeVersion, redact: { Order: { card: "remove", email: "mask" } } });
    ctx.kopers.push(koper);
    await koper.start();
    return async (id: number, action: "insert" | "update") => {
      const tx = {};
      koper.capture.begin(tx);
      const data = { id, at: new Date(id), big: BigInt(id) * 10n ** 20n, blob: Buffer.from([id]), gone: undefined, none: null, card: "4111-1111", email: "a@b.c" };
      const before = action === "update" ? { ...data, big: 0n, card: "4111-1111" } : undefined;
      await koper.capture.record(tx, { entity: "Order", action, key: { id }, data, ...(before ? { before, changes: ["big"] } : {}), source: { orm: "test", table: "orders" } });
      await koper.capture.commit(tx);
    };
  }

  it("a consumer reads both as the same DataEvent; the bytes of neither hold a redacted value", async () => {
    const prefix = uniqueName("mixed");
    const topic = `${prefix}.Order`;
    const [v1, v2] = [await producer(prefix, 1), await producer(prefix, 2)];
    const got: DataEvent[] = [];
    const raw: string[] = [];
    const consumer = koperFor(ctx.broker.brokers, { kind, topics: { prefix } });
    ctx.kopers.push(consumer);
    consumer.register(
      dataListener()({ entity: "Order", group: uniqueName("g"), onInsertOrder: (_r, e) => void got.push(e), onUpdateOrder: (_r, e) => void got.push(e) }),
      // A @Listen listener on the data topic gets the decoded envelope too, whichever version.
      listen({ topic, group: uniqueName("raw"), onMessage: (payload) => void raw.push(JSON.stringify(Object.keys(payload as object))) }),
    );
    await consumer.start();
    const writes = [() => v1(1, "insert"), () => v2(1, "insert"), () => v1(2, "update"), () => v2(2, "update")];
    for (const [n, write] of writes.entries()) {
      await write();
      await until(() => got.length === n + 1 && raw.length === n + 1, () => `${n + 1} events (got ${got.length}, ${raw.length})`);
    }
    const byProducer = (version: number) => got.filter((_, i) => i % 2 === version - 1);
    const strip = (e: DataEvent) => ({ ...e, id: "", transaction: { ...e.transaction, id: "" }, trace: undefined, time: undefined });
    const [fromV1, fromV2] = [byProducer(1).map(strip), byProducer(2).map(strip)];
    expect(fromV2).toStrictEqual(fromV1);
    expect(got[0]!.data!.at).toEqual(new Date(1));
    expect(got[3]!.before!.big).toBe(0n);
    expect(got[3]!.before).not.toBe(got[3]!.data);
    expect("card" in got[0]!.data!).toBe(false);
    expect([raw[1], raw[3]]).toEqual([raw[0], raw[2]]);

    const records = await readTopic(ctx.broker.brokers, topic, 4);
    const types = records.map((r) => r.headers["content-type"]);
    expect(types.sort()).toEqual([CONTENT_TYPE, CONTENT_TYPE, CONTENT_TYPE_V2, CONTENT_TYPE_V2].sort());
    for (const record of records) {
      // The whole secret: a fragment such as "4111" may stand in a microsecond timestamp by chance.
      expect(record.value!.toString()).not.toContain("4111-1111");
      expect(record.value!.toString()).not.toContain("a@b.c");
      if (record.headers["content-type"] === CONTENT_TYPE_V2) expect(Object.keys(record.headers).sort()).toEqual(["content-type", "koper-id", "traceparent"]);
    }
  });
});
