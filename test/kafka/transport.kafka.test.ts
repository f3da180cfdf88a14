import { ConfigError, isKoperError, PublishError, type DeliveredMessage, type OutgoingMessage } from "@koper/core";
import { KafkaTransport, KafkaTransportError } from "@koper/kafka";
import { PlatformaticKafkaTransport } from "@koper/kafka/platformatic";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { logLevel } from "kafkajs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kafkaTransports, type AnyKafkaTransport, type TestTransportOptions, uniqueName, until } from "./support.ts";

function messages(topic: string, count: number, keys = 1): OutgoingMessage[] {
  return Array.from({ length: count }, (_, n) => ({
    topic,
    key: `k${n % keys}`,
    value: new TextEncoder().encode(JSON.stringify({ n })),
    headers: { "koper-id": `id-${n}`, "x-n": String(n) },
  }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(kafkaTransports)("Kafka transport on $name (the Transport contract, without the runtime)", (kind) => {
  let broker: Broker;
  const transports: AnyKafkaTransport[] = [];

  beforeEach(async () => {
    broker = await startBroker({ port: 0 });
  });

  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
    await broker.stop();
  });

  function transport(extra: TestTransportOptions = {}): AnyKafkaTransport {
    const t = kind.create(broker.brokers, extra);
    transports.push(t);
    return t;
  }

  it("sends a batch as one produce request and delivers key, value, headers, partition, offset and timestamp", async () => {
    const topic = uniqueName("contract");
    const t = transport({ partitions: 1 });
    await t.connect();
    const before = Date.now();
    await t.send(messages(topic, 100));
    // One `send` = one record batch in the log: a flush of N events is one request, not N.
    expect(broker.state.topics.get(topic)!.partitions[0]!.batchCount).toBe(1);
    expect(broker.offsets(topic)).toEqual([{ partition: 0, logStartOffset: 0, highWatermark: 100 }]);

    const got: DeliveredMessage[] = [];
    await t.subscribe({ group: uniqueName("g"), topics: [topic], maxInFlight: 8, handle: async (m) => void got.push(m) });
    await until(() => got.length === 100, () => `100 messages (got ${got.length})`);
    const third = got.find((m) => m.offset === "2")!;
    expect(third).toMatchObject({ topic, partition: 0, key: "k0", headers: { "koper-id": "id-2", "x-n": "2" } });
    expect(JSON.parse(Buffer.from(third.value).toString())).toEqual({ n: 2 });
    expect(typeof third.timestamp).toBe("number");
    expect(third.timestamp).toBeGreaterThanOrEqual(before - 1000);
  });

  it("delivers a message again when handle rejects, and never commits past it meanwhile", async () => {
    const topic = uniqueName("reject");
    const group = uniqueName("g");
    const t = transport({ partitions: 1 });
    await t.send(messages(topic, 20, 5));
    const deliveries = new Map<string, number>();
    let committedAtRedelivery: number | undefined = -1;
    await t.subscribe({
      group,
      topics: [topic],
      maxInFlight: 4,
      handle: async (m) => {
        const n = (deliveries.get(m.offset) ?? 0) + 1;
        deliveries.set(m.offset, n);
        if (m.offset === "7" && n === 1) throw new Error("could not even dead-letter");
        if (m.offset === "7") committedAtRedelivery = broker.committedOffsets(group).get(`${topic}/0`);
      },
    });
    await until(() => broker.committedOffsets(group).get(`${topic}/0`) === 20, "the whole partition to be committed");
    expect(deliveries.get("7")).toBe(2);
    expect(committedAtRedelivery === undefined || committedAtRedelivery <= 7).toBe(true);
    for (let offset = 0; offset < 20; offset++) expect(deliveries.get(String(offset)), `offset ${offset}`).toBeGreaterThanOrEqual(1);
  });

  it("keeps at most maxInFlight outstanding; close() finishes them and commits, so the next member re-handles nothing", async () => {
    const topic = uniqueName("close");
    const group = uniqueName("g");
    const t = transport({ partitions: 3 });
    await t.send(messages(topic, 90, 9));
    let outstanding = 0;
    let peak = 0;
    const handled: string[] = [];
    const handle = async (m: DeliveredMessage) => {
      outstanding++;
      peak = Math.max(peak, outstanding);
      await sleep(10);
      outstanding--;
      handled.push(`${m.partition}/${m.offset}`);
    };
    const member = await t.subscribe({ group, topics: [topic], maxInFlight: 3, handle });
    await until(() => handled.length >= 15, "some messages handled");
    await member.close();
    expect(outstanding).toBe(0);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    const firstMember = handled.length;
    expect(firstMember).toBeLessThan(90);
    // Committed offsets cover exactly what was handled, per partition.
    const committed = broker.committedOffsets(group);
    expect([...committed.values()].reduce((a, b) => a + b, 0)).toBe(firstMember);

    const next = transport();
    await next.subscribe({ group, topics: [topic], maxInFlight: 8, handle });
    await until(() => handled.length >= 90, () => `all 90 messages (got ${handled.length})`);
    await sleep(300);
    expect(handled).toHaveLength(90);
    expect(new Set(handled).size).toBe(90);
  });

  it("starts a new group at the end of the log with fromBeginning: false (and at the start by default)", async () => {
    const topic = uniqueName("latest");
    const sender = transport({ partitions: 1 });
    await sender.send(messages(topic, 5));
    const late = transport({ fromBeginning: false });
    const got: string[] = [];
    await late.subscribe({ group: uniqueName("g"), topics: [topic], maxInFlight: 4, handle: async (m) => void got.push(m.headers["x-n"]!) });
    // The member joins in the background: keep sending until it sees something new.
    let n = 100;
    await until(async () => {
      await sender.send([{ ...messages(topic, 1)[0]!, headers: { "x-n": String(n++) } }]);
      return got.length > 0;
    }, "a message sent after the late group joined");
    expect(got.every((x) => Number(x) >= 100)).toBe(true);

    const early: string[] = [];
    await transport().subscribe({ group: uniqueName("g"), topics: [topic], maxInFlight: 4, handle: async (m) => void early.push(m.headers["x-n"]!) });
    await until(() => early.length >= 5, "the messages sent before the group existed");
    expect(early.slice(0, 5)).toEqual(["0", "1", "2", "3", "4"]);
  });

  it("turns kafkajs failures into retriable Koper errors", async () => {
    const t = kind.create(["127.0.0.1:1"], { brokers: ["127.0.0.1:1"], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 20 } });
    transports.push(t);
    const error = await t.send(messages(uniqueName("nowhere"), 1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isKoperError(error)).toBe(true);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toBeInstanceOf(KafkaTransportError);
    expect(error).toMatchObject({ code: "transport_failed", retriable: true });
    expect((error as Error).message).toContain("127.0.0.1:1");
  });

  it("rejects bad options with a ConfigError, and sends nothing once closed", async () => {
    const Transport = kind.name === "kafkajs" ? KafkaTransport : PlatformaticKafkaTransport;
    expect(() => new Transport({ brokers: [] })).toThrow(ConfigError);
    expect(() => new Transport({ brokers: broker.brokers, partitions: 0 })).toThrow(/partitions/);
    const t = transport();
    await t.close();
    await expect(t.send(messages(uniqueName("closed"), 1))).rejects.toMatchObject({ code: "stopped" });
  });
});
