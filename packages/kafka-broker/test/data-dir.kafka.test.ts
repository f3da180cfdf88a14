import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EachMessagePayload } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { encodeRecordBatch, startBroker, type Broker } from "@koper/kafka-broker";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";

const running: Broker[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "koper-data-"));
  dirs.push(dir);
  return dir;
}

async function brokerOn(dir: string, extra: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  const broker = await startBroker({ port: 0, dataDir: dir, fsyncIntervalMs: 50, ...extra });
  running.push(broker);
  return broker;
}

describe("dataDir: topics, data and offsets survive a process restart", () => {
  it("keeps topics with their partition count and configs, records, committed offsets and producer ids", { timeout: 60_000 }, async () => {
    const dir = dataDir();
    const first = await brokerOn(dir);
    const topic = uniqueName("durable");
    const groupId = uniqueName("g");
    const kafka = kafkaFor(first.brokers);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: "max.message.bytes", value: "5000" }] }] });
    await admin.disconnect();
    const producer = producerFor(kafka, { idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(String(message.value)) });
    await until(() => seen.length === 30, "30 messages");
    await until(() => [...first.committedOffsets(groupId).values()].reduce((a, b) => a + b, 0) === 30, "the commits");
    await consumer.disconnect();
    const before = [0, 1, 2].map((p) => first.records(topic, p).map((r) => [r.offset, String(r.key), String(r.value)]));
    const lastProducerId = first.state.lastProducerId;
    await first.stop();

    // A new broker, a new BrokerState: everything comes from the directory.
    const second = await brokerOn(dir);
    expect(second.topics()).toEqual([topic]);
    expect(second.state.topics.get(topic)!.partitions).toHaveLength(3);
    expect(second.state.topics.get(topic)!.config.maxMessageBytes).toBe(5000);
    expect([0, 1, 2].map((p) => second.records(topic, p).map((r) => [r.offset, String(r.key), String(r.value)]))).toEqual(before);
    expect(second.committedOffsets(groupId)).toEqual(first.committedOffsets(groupId));
    expect(second.state.lastProducerId).toBe(lastProducerId);

    const again = kafkaFor(second.brokers);
    const p2 = producerFor(again);
    await p2.connect();
    await p2.send({ topic, messages: [{ key: "k-after", value: "after" }] });
    await p2.disconnect();
    const resumed: string[] = [];
    const c2 = again.consumer({ groupId, maxWaitTimeInMs: 100 });
    await c2.connect();
    await c2.subscribe({ topic, fromBeginning: true });
    await c2.run({ eachMessage: async ({ message }: EachMessagePayload) => void resumed.push(String(message.value)) });
    await until(() => resumed.length === 1, "the message produced after the restart");
    await c2.disconnect();
    expect(resumed).toEqual(["after"]); // resumed from the committed offsets, not re-read
  });

  it("cuts a torn batch off a segment's end, drops segment files with retention, and forgets deleted topics", { timeout: 60_000 }, async () => {
    const dir = dataDir();
    const first = await brokerOn(dir, { maxPartitionBytes: 64 * 1024 });
    const topic = uniqueName("segments");
    first.createTopic(topic, 1);
    const gone = uniqueName("gone");
    first.createTopic(gone, 1);
    const partition = first.state.topics.get(topic)!.partitions[0]!;
    for (let i = 0; i < 2_000; i++) partition.append(encodeRecordBatch([{ key: null, value: Buffer.from(`value-${i}`) }]));
    const segmentDir = join(dir, "topics", topic, "0");
    const files = readdirSync(segmentDir).sort();
    // One file per in-memory segment: retention deleted the dropped ones.
    expect(files.length).toBe(partition.heldSegments.length);
    expect(files[0]).toBe(`${String(partition.logStartOffset).padStart(20, "0")}.log`);
    const admin = kafkaFor(first.brokers).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [gone] });
    await admin.disconnect();
    const { logStartOffset, highWatermark } = first.offsets(topic)[0]!;
    await first.stop();
    appendFileSync(join(segmentDir, files[files.length - 1]!), encodeRecordBatch([{ key: null, value: Buffer.from("torn") }]).subarray(0, 40));

    const second = await brokerOn(dir, { maxPartitionBytes: 64 * 1024 });
    expect(second.topics()).toEqual([topic]);
    expect(second.offsets(topic)).toEqual([{ partition: 0, logStartOffset, highWatermark }]);
    const records = second.records(topic);
    expect(records[records.length - 1]!.value?.toString()).toBe("value-1999");
    second.state.topics.get(topic)!.partitions[0]!.append(encodeRecordBatch([{ key: null, value: Buffer.from("next") }]));
    expect(second.records(topic).at(-1)).toMatchObject({ offset: 2_000 });
  });

  it("forgets a deleted topic's and a deleted group's committed offsets across a restart, and keeps those of the topic created again", { timeout: 60_000 }, async () => {
    const dir = dataDir();
    const first = await brokerOn(dir);
    const topic = uniqueName("recreated");
    const [oldGroup, newGroup] = [uniqueName("g-old"), uniqueName("g-new")];
    const kafka = kafkaFor(first.brokers);
    const admin = kafka.admin();
    await admin.connect();
    const producer = producerFor(kafka);
    await producer.connect();
    // Consumes the whole topic in `groupId` and waits for its commit.
    const consumeAll = async (groupId: string, count: number) => {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
      await until(() => first.committedOffsets(groupId).get(`${topic}/0`) === count, `${groupId} to commit ${count}`);
      await consumer.disconnect();
    };
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })) });
    await consumeAll(oldGroup, 5);
    await admin.deleteTopics({ topics: [topic] });
    expect(first.committedOffsets(oldGroup).size).toBe(0);
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await producer.send({ topic, messages: Array.from({ length: 3 }, (_, i) => ({ value: `w${i}` })) });
    await consumeAll(newGroup, 3);
    const deletedGroup = uniqueName("g-deleted");
    await consumeAll(deletedGroup, 3);
    await admin.deleteGroups([deletedGroup]);
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await first.stop();

    const second = await brokerOn(dir);
    expect(second.committedOffsets(oldGroup).size).toBe(0);
    expect(second.committedOffsets(deletedGroup).size).toBe(0);
    expect(second.committedOffsets(newGroup)).toEqual(new Map([[`${topic}/0`, 3]]));
  });

  it("refuses a directory another running broker holds, and state together with dataDir", async () => {
    const dir = dataDir();
    await brokerOn(dir);
    await expect(startBroker({ port: 0, dataDir: dir })).rejects.toMatchObject({ message: expect.stringMatching(/in use by a running broker/) });
    const other = await startBroker({ port: 0 });
    running.push(other);
    await other.stop();
    await expect(startBroker({ port: 0, dataDir: dataDir(), state: other.state })).rejects.toMatchObject({ code: "invalid_option" });
  });
});
