import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EachMessagePayload } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { encodeRecordBatch, startBroker, type Broker } from "@koper/kafka-broker";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";

const running: Broker[] = [];
afterAll(async () => {
  await Promise.all(running.map((b) => b.stop()));
});

describe("restarting a broker on the same port with its state", () => {
  it("keeps topics, data and committed offsets; clients reconnect", async () => {
    const first = await startBroker({ port: 0 });
    running.push(first);
    const topic = uniqueName("restart");
    const groupId = uniqueName("g");
    const kafka = kafkaFor(first.brokers, { retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 } });
    const producer = producerFor(kafka, { idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: "before-1" }, { value: "before-2" }] });

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 100, retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 } });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(String(message.value)) });
    await until(() => seen.length === 2, "messages before the restart");
    await until(() => first.committedOffsets(groupId).get(`${topic}/0`) === 2, "the commit before the restart");

    await first.stop();
    await first.stop(); // idempotent
    const second = await startBroker({ port: first.port, state: first.state });
    running.push(second);
    expect(second.port).toBe(first.port);
    expect(second.topics()).toContain(topic);

    // The same producer and consumer objects reconnect to the restarted broker.
    await producer.send({ topic, messages: [{ value: "after-1" }] });
    await until(() => seen.includes("after-1"), "the message produced after the restart");
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
    expect(seen.filter((v) => v.startsWith("before"))).toEqual(["before-1", "before-2"]); // resumed, not re-read
    expect(second.records(topic).map((r) => r.value?.toString())).toEqual(["before-1", "before-2", "after-1"]);
    expect(second.committedOffsets(groupId).get(`${topic}/0`)).toBe(3);
  });

  it("refuses to serve one state from two running brokers", async () => {
    const broker = await startBroker({ port: 0 });
    running.push(broker);
    await expect(startBroker({ port: 0, state: broker.state })).rejects.toThrow(/still served/);
  });
});

describe("DeleteRecords and CreatePartitions across a process restart (dataDir)", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function brokerOn(dir: string): Promise<Broker> {
    const broker = await startBroker({ port: 0, dataDir: dir, fsyncIntervalMs: 50, maxPartitionBytes: 64 * 1024 });
    running.push(broker);
    return broker;
  }

  it("keeps the log start offset DeleteRecords set, inside a segment, and finishes deleting segment files a crash left", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "koper-restart-"));
    dirs.push(dir);
    const first = await brokerOn(dir);
    const topic = uniqueName("deleted");
    first.createTopic(topic, 1);
    const partition = first.state.topics.get(topic)!.partitions[0]!;
    for (let i = 0; i < 1_000; i++) partition.append(encodeRecordBatch([{ key: null, value: Buffer.from(`value-${i}`) }]));
    const bases = partition.heldSegments.map((s) => s.baseOffset);
    const cut = bases[1]! + 3; // inside the second segment: the first one's file goes
    const admin = kafkaFor(first.brokers).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(cut) }] });
    await admin.disconnect();
    const segmentDir = join(dir, "topics", topic, "0");
    expect(readdirSync(segmentDir).filter((f) => f.endsWith(".log"))).toHaveLength(bases.length - 1);
    await first.stop();

    const second = await brokerOn(dir);
    expect(second.offsets(topic)).toEqual([{ partition: 0, logStartOffset: cut, highWatermark: 1_000 }]);
    expect(second.records(topic)[0]).toMatchObject({ offset: cut, value: Buffer.from(`value-${cut}`) });
    await second.stop();

    // A crash after the new start was written but before the segment files below it were deleted.
    const later = bases[3]! + 1;
    writeFileSync(join(segmentDir, "log-start-offset"), String(later));
    const third = await brokerOn(dir);
    expect(third.offsets(topic)[0]).toMatchObject({ logStartOffset: later, highWatermark: 1_000 });
    expect(readdirSync(segmentDir).filter((f) => f.endsWith(".log"))).toHaveLength(bases.length - 3);
    const seen: string[] = [];
    const consumer = kafkaFor(third.brokers).consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(message.offset) });
    await until(() => seen.length === 1_000 - later, "the records after the log start");
    await consumer.disconnect();
    expect(seen[0]).toBe(String(later));
  });

  it("keeps partitions CreatePartitions added, with their data, configs and committed offsets", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "koper-restart-"));
    dirs.push(dir);
    const first = await brokerOn(dir);
    const topic = uniqueName("grown");
    const groupId = uniqueName("g");
    const kafka = kafkaFor(first.brokers);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: "5000" }] }] });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
    const producer = producerFor(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2].map((partition) => ({ value: `before-${partition}`, partition })) });
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 2, offset: "1" }] });
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await first.stop();

    const second = await brokerOn(dir);
    expect(second.state.topics.get(topic)!.partitions).toHaveLength(3);
    expect(second.state.topics.get(topic)!.partitions[2]!.maxBytes).toBe(64 * 1024);
    expect(second.state.topics.get(topic)!.config.maxMessageBytes).toBe(5000);
    expect([0, 1, 2].map((p) => second.records(topic, p).map((r) => String(r.value)))).toEqual([["before-0"], ["before-1"], ["before-2"]]);
    expect(second.committedOffsets(groupId).get(`${topic}/2`)).toBe(1);
    const again = producerFor(kafkaFor(second.brokers));
    await again.connect();
    await again.send({ topic, messages: [{ value: "after-2", partition: 2 }] });
    await again.disconnect();
    expect(second.records(topic, 2).map((r) => [r.offset, String(r.value)])).toEqual([[0, "before-2"], [1, "after-2"]]);
    await second.stop();
    const third = await brokerOn(dir);
    expect(third.records(topic, 2)).toHaveLength(2);
  });
});
