// Regression (issue 13, items 3 and 4): a CRC-valid batch with lastOffsetDelta -5 was appended and
// corrupted the log; 20 MB batches were accepted where Kafka refuses over 1 MiB; any replication
// factor was accepted on one broker; a transactional producer timed out instead of being refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc32c, encodeRecordBatch, ErrorCode, startBroker, type Broker } from "@koper/kafka-broker";
import type { Reader } from "../../packages/kafka-broker/src/protocol/Reader.ts";
import { Writer } from "../../packages/kafka-broker/src/protocol/Writer.ts";
import { kafkaFor, producerFor, uniqueName } from "../../packages/kafka-broker/test/helpers.ts";
import { frame, request } from "../../packages/kafka-broker/test/raw-client.ts";

let broker: Broker;
const diagnostics: string[] = [];
beforeAll(async () => {
  broker = await startBroker({ port: 0, log: (line) => diagnostics.push(line) });
});
afterAll(async () => {
  await broker.stop();
});

// Produce v3 of one records blob to partition 0, acks=1; resolves with the partition's error and base offset.
async function produce(topic: string, records: Buffer, transactionalId: string | null = null): Promise<{ error: number; baseOffset: number }> {
  const w = new Writer().nullableString(transactionalId).int16(1).int32(1000);
  w.array([topic], (tw, name) => tw.string(name).array([records], (pw, r) => pw.int32(0).bytes(r)));
  const { body } = await request(broker.port, frame(0, 3, Buffer.from(w.toBuffer())));
  return readProduce(body);
}

function readProduce(body: Reader): { error: number; baseOffset: number } {
  const [topic] = body.array((tr) => ({ name: tr.string(), partitions: tr.array((pr) => ({ index: pr.int32(), error: pr.int16(), baseOffset: pr.int64(), time: pr.int64() })) }));
  return topic!.partitions[0]!;
}

function reCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch, 21), 17);
  return batch;
}

const three = () => encodeRecordBatch(["a", "b", "c"].map((v) => ({ key: null, value: Buffer.from(v) })));

describe("batch header validation", () => {
  it("refuses CRC-valid batches whose header disagrees with their records, with CORRUPT_MESSAGE, and keeps the log intact", async () => {
    const topic = uniqueName("corrupt");
    broker.createTopic(topic, 1);
    expect((await produce(topic, three())).error).toBe(ErrorCode.NONE);
    const negativeDelta = three();
    negativeDelta.writeInt32BE(-5, 23); // lastOffsetDelta
    const countMismatch = three();
    countMismatch.writeInt32BE(5, 57); // record count
    const deltaTooBig = three();
    deltaTooBig.writeInt32BE(9, 23);
    const emptyBatch = three();
    emptyBatch.writeInt32BE(-1, 23);
    emptyBatch.writeInt32BE(0, 57);
    const shuffled = three();
    shuffled[61 + 3] = 4; // first record's offsetDelta (zig-zag 2) instead of 0
    for (const bad of [negativeDelta, countMismatch, deltaTooBig, emptyBatch, shuffled]) {
      expect((await produce(topic, reCrc(bad))).error).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
    expect(broker.offsets(topic)).toEqual([{ partition: 0, logStartOffset: 0, highWatermark: 3 }]);
    expect((await produce(topic, three())).baseOffset).toBe(3);
    expect(broker.records(topic).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe("Kafka's default limits", () => {
  it("refuses a batch over message.max.bytes (1048588 by default) with MESSAGE_TOO_LARGE, for raw clients and kafkajs", async () => {
    const topic = uniqueName("large");
    broker.createTopic(topic, 1);
    const big = encodeRecordBatch([{ key: null, value: Buffer.alloc(1024 * 1024, 1) }]);
    expect((await produce(topic, big)).error).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    const justUnder = encodeRecordBatch([{ key: null, value: Buffer.alloc(1_048_588 - 100, 1) }]);
    expect(justUnder.length).toBeLessThanOrEqual(1_048_588);
    expect((await produce(topic, justUnder)).error).toBe(ErrorCode.NONE);

    const producer = producerFor(kafkaFor(broker.brokers));
    await producer.connect();
    try {
      await expect(producer.send({ topic, messages: [{ value: Buffer.alloc(2 * 1024 * 1024) }] })).rejects.toMatchObject({ type: "MESSAGE_TOO_LARGE", retriable: false });
    } finally {
      await producer.disconnect();
    }
    expect(broker.offsets(topic)[0]!.highWatermark).toBe(1);
  });

  it("takes a larger limit from the maxMessageBytes option and from the topic's max.message.bytes", async () => {
    const roomy = await startBroker({ port: 0, maxMessageBytes: 4 * 1024 * 1024 });
    try {
      const admin = kafkaFor(roomy.brokers).admin();
      await admin.connect();
      const tight = uniqueName("tight");
      await admin.createTopics({ topics: [{ topic: tight, configEntries: [{ name: "max.message.bytes", value: "2000" }] }] });
      await admin.disconnect();
      const producer = producerFor(kafkaFor(roomy.brokers));
      await producer.connect();
      await producer.send({ topic: uniqueName("roomy"), messages: [{ value: Buffer.alloc(2 * 1024 * 1024) }] });
      await expect(producer.send({ topic: tight, messages: [{ value: Buffer.alloc(3000) }] })).rejects.toMatchObject({ type: "MESSAGE_TOO_LARGE" });
      await producer.disconnect();
    } finally {
      await roomy.stop();
    }
  });

  it("refuses a replication factor above the broker count with INVALID_REPLICATION_FACTOR unless maxReplicationFactor allows it", async () => {
    const admin = kafkaFor(broker.brokers).admin();
    await admin.connect();
    try {
      const topic = uniqueName("rf");
      await expect(admin.createTopics({ topics: [{ topic, replicationFactor: 3 }] })).rejects.toMatchObject({
        errors: [expect.objectContaining({ type: "INVALID_REPLICATION_FACTOR" })],
      });
      expect(broker.topics()).not.toContain(topic);
      await admin.createTopics({ topics: [{ topic, replicationFactor: 1 }] });
      await admin.createTopics({ topics: [{ topic: uniqueName("rf-default") }] }); // -1: the broker default
    } finally {
      await admin.disconnect();
    }
    const lenient = await startBroker({ port: 0, maxReplicationFactor: 3 });
    try {
      const admin3 = kafkaFor(lenient.brokers).admin();
      await admin3.connect();
      await admin3.createTopics({ topics: [{ topic: "like-production", replicationFactor: 3 }] });
      await admin3.disconnect();
      expect(lenient.topics()).toContain("like-production");
    } finally {
      await lenient.stop();
    }
  });

  it("refuses a transactional producer when it begins a transaction, with a non-retriable error, instead of timing out later", async () => {
    const kafka = kafkaFor(broker.brokers);
    const producer = kafka.producer({ transactionalId: uniqueName("tx"), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // kafkajs asks for the transactional producer id when the first transaction begins.
    await expect(producer.transaction()).rejects.toMatchObject({ type: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", retriable: false });
    await producer.disconnect();
    expect(diagnostics.some((line) => /transactions are not supported/.test(line))).toBe(true);
    const topic = uniqueName("tx-produce");
    broker.createTopic(topic, 1);
    expect((await produce(topic, three(), "some-tx")).error).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect(broker.offsets(topic)[0]!.highWatermark).toBe(0);
  });
});
