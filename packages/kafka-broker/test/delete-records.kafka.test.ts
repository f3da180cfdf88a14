import { type EachMessagePayload } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, startBroker, type Broker } from "@koper/kafka-broker";
import { Writer } from "../src/protocol/Writer.ts";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";
import { fetchV4, frame, readFetchV4, request } from "./raw-client.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ port: 0 });
});
afterAll(async () => {
  await broker.stop();
});

// kafkajs's deleteTopicRecords looks the partitions' leaders up in metadata it must already have loaded
// (KafkaJSTopicMetadataNotLoaded otherwise, before any request), as against any Kafka.
async function adminFor(topic: string) {
  const admin = kafkaFor(broker.brokers).admin();
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: [topic] });
  return admin;
}

type Wanted = { topic: string; partitions: Array<{ partition: number; offset: number }> };

// DeleteRecords v1 by hand, for what kafkajs checks on the client side before it asks (unknown topics, bad offsets).
async function deleteRecordsRaw(wanted: Wanted[]) {
  const w = new Writer().array(wanted, (tw, t) => tw.string(t.topic).array(t.partitions, (pw, p) => pw.int32(p.partition).int64(p.offset)));
  const { body } = await request(broker.port, frame(21, 1, Buffer.from(w.int32(5000).toBuffer())));
  expect(body.int32()).toBe(0); // throttle_time_ms
  return body.array((tr) => ({
    topic: tr.string(),
    partitions: tr.array((pr) => ({ partition: pr.int32(), lowWatermark: pr.int64(), errorCode: pr.int16() })),
  }));
}

async function produce(topic: string, partition: number, values: string[]): Promise<void> {
  const producer = producerFor(kafkaFor(broker.brokers));
  await producer.connect();
  // One send to one partition is one record batch: deleting inside it must still hide the records before the offset.
  await producer.send({ topic, messages: values.map((value, i) => ({ value, partition, timestamp: String(1_000_000 + i * 1000) })) });
  await producer.disconnect();
}

describe("DeleteRecords", () => {
  it("moves the log start offset (inside a batch too, or to the high watermark with -1), and ListOffsets, Fetch and consumers honour it", async () => {
    const topic = uniqueName("delete-records");
    broker.createTopic(topic, 2);
    await produce(topic, 0, Array.from({ length: 10 }, (_, i) => `a${i}`));
    await produce(topic, 1, Array.from({ length: 5 }, (_, i) => `b${i}`));
    expect(broker.state.topics.get(topic)!.partitions[0]!.batchCount).toBe(1);
    const admin = await adminFor(topic);
    try {
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "4" }, { partition: 1, offset: "-1" }] });
      expect(broker.offsets(topic)).toEqual([
        { partition: 0, logStartOffset: 4, highWatermark: 10 },
        { partition: 1, logStartOffset: 5, highWatermark: 5 },
      ]);
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.map((o) => [o.partition, o.low, o.high])).toEqual([[0, "4", "10"], [1, "5", "5"]]);
      // The first record at or after time 0 is the first one not deleted, although its batch starts at offset 0.
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 0);
      expect(byTime.find((o) => o.partition === 0)?.offset).toBe("4");
    } finally {
      await admin.disconnect();
    }
    expect(readFetchV4((await request(broker.port, fetchV4(topic, 3))).body)).toMatchObject({ error: ErrorCode.OFFSET_OUT_OF_RANGE, recordBytes: 0 });
    const atStart = readFetchV4((await request(broker.port, fetchV4(topic, 4))).body);
    expect(atStart.error).toBe(ErrorCode.NONE);
    expect(atStart.recordBytes).toBeGreaterThan(0);
    expect(broker.records(topic, 0).map((r) => r.offset)).toEqual([4, 5, 6, 7, 8, 9]);

    const seen: string[] = [];
    const consumer = kafkaFor(broker.brokers).consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }: EachMessagePayload) => void seen.push(`${partition}:${message.offset}:${String(message.value)}`) });
    await produce(topic, 1, ["b5"]);
    await until(() => seen.length >= 7, "the records after the log start offsets");
    await consumer.disconnect();
    expect(seen.sort()).toEqual(["0:4:a4", "0:5:a5", "0:6:a6", "0:7:a7", "0:8:a8", "0:9:a9", "1:5:b5"]);
  });

  it("answers OFFSET_OUT_OF_RANGE past the high watermark, UNKNOWN_TOPIC_OR_PARTITION for what does not exist, and never moves the start back", async () => {
    const topic = uniqueName("delete-errors");
    broker.createTopic(topic, 1);
    await produce(topic, 0, ["x", "y", "z"]);
    const admin = await adminFor(topic);
    try {
      // kafkajs wraps the per-partition errors (not retriable) in KafkaJSNonRetriableError.
      await expect(admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "4" }] })).rejects.toMatchObject({
        cause: {
          name: "KafkaJSDeleteTopicRecordsError",
          partitions: [{ partition: 0, offset: "4", error: expect.objectContaining({ type: "OFFSET_OUT_OF_RANGE" }) }],
        },
      });
    } finally {
      await admin.disconnect();
    }
    expect(broker.offsets(topic)[0]).toMatchObject({ logStartOffset: 0, highWatermark: 3 });
    const answers = await deleteRecordsRaw([
      { topic, partitions: [{ partition: 0, offset: 2 }, { partition: 1, offset: 0 }] },
      { topic: uniqueName("missing"), partitions: [{ partition: 0, offset: 0 }] },
    ]);
    expect(answers[0]!.partitions).toEqual([
      { partition: 0, lowWatermark: 2, errorCode: ErrorCode.NONE },
      { partition: 1, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ]);
    expect(answers[1]!.partitions).toEqual([{ partition: 0, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }]);
    const again = await deleteRecordsRaw([{ topic, partitions: [{ partition: 0, offset: 1 }, { partition: 0, offset: -2 }] }]);
    expect(again[0]!.partitions).toEqual([
      { partition: 0, lowWatermark: 2, errorCode: ErrorCode.NONE },
      { partition: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE },
    ]);
    expect(broker.offsets(topic)[0]).toMatchObject({ logStartOffset: 2, highWatermark: 3 });
  });

  it("sends a group whose committed offset was deleted to the new start, as Kafka's auto.offset.reset does", async () => {
    const topic = uniqueName("delete-committed");
    const groupId = uniqueName("g");
    broker.createTopic(topic, 1);
    await produce(topic, 0, ["c0", "c1"]);
    const kafka = kafkaFor(broker.brokers);
    const admin = await adminFor(topic);
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "1" }] });
    await produce(topic, 0, ["c2", "c3", "c4"]);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "3" }] });
    await admin.disconnect();
    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(`${message.offset}:${String(message.value)}`) });
    await until(() => seen.length >= 2, "the records from the new log start");
    await consumer.disconnect();
    expect(seen).toEqual(["3:c3", "4:c4"]);
  });
});
