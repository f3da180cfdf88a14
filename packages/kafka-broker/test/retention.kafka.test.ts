import { type EachMessagePayload } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, startBroker, type Broker } from "@koper/kafka-broker";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";
import { fetchV4, readFetchV4, request } from "./raw-client.ts";

let broker: Broker;
beforeAll(async () => {
  // A budget of a few small batches per partition, so old batches fall off quickly.
  broker = await startBroker({ port: 0, maxPartitionBytes: 1_000 });
});
afterAll(async () => {
  await broker.stop();
});

describe("bounded memory per partition", () => {
  it("drops the oldest batches, moves the log start offset, and answers OFFSET_OUT_OF_RANGE below it", async () => {
    const topic = uniqueName("retention");
    const kafka = kafkaFor(broker.brokers);
    const producer = producerFor(kafka);
    await producer.connect();
    for (let i = 0; i < 30; i++) await producer.send({ topic, messages: [{ key: `k${i}`, value: `value-${i}-${"x".repeat(100)}` }] });
    await producer.disconnect();

    const { logStartOffset, highWatermark } = broker.offsets(topic)[0]!;
    expect(highWatermark).toBe(30);
    expect(logStartOffset).toBeGreaterThan(0);
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchTopicOffsets(topic);
    const [earliest] = await admin.fetchTopicOffsetsByTimestamp(topic, 0);
    await admin.disconnect();
    expect(offsets).toMatchObject({ low: String(logStartOffset), high: "30" });
    expect(earliest).toMatchObject({ offset: String(logStartOffset) });

    const below = readFetchV4((await request(broker.port, fetchV4(topic, 0))).body);
    expect(below).toMatchObject({ error: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 30, recordBytes: 0 });
    const atEnd = readFetchV4((await request(broker.port, fetchV4(topic, 30))).body);
    expect(atEnd).toMatchObject({ error: ErrorCode.NONE, highWatermark: 30, lastStable: 30, recordBytes: 0 });
    const inside = readFetchV4((await request(broker.port, fetchV4(topic, logStartOffset))).body);
    expect(inside.error).toBe(ErrorCode.NONE);
    expect(inside.recordBytes).toBeGreaterThan(0);

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(message.offset) });
    await until(() => seen.length === 30 - logStartOffset, "the retained messages");
    await consumer.disconnect();
    expect(seen[0]).toBe(String(logStartOffset));
  });
});
