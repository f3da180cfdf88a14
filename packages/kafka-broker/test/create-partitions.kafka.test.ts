import { type Consumer, type EachMessagePayload } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, startBroker, type Broker } from "@koper/kafka-broker";
import { Writer } from "../src/protocol/Writer.ts";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";
import { frame, request } from "./raw-client.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ port: 0 });
});
afterAll(async () => {
  await broker.stop();
});

type Grow = { topic: string; count: number; assignments?: number[][] | null };

// CreatePartitions v0 by hand, to read the broker's error messages (kafkajs shows its own) and send what kafkajs refuses to.
async function createPartitionsRaw(topics: Grow[], validateOnly = false) {
  const w = new Writer().array(topics, (tw, t) => tw.string(t.topic).int32(t.count).array(t.assignments ?? null, (aw, ids) => aw.array(ids, (iw, id) => iw.int32(id))));
  const { body } = await request(broker.port, frame(37, 0, Buffer.from(w.int32(5000).bool(validateOnly).toBuffer())));
  expect(body.int32()).toBe(0); // throttle_time_ms
  return body.array((r) => ({ topic: r.string(), errorCode: r.int16(), message: r.nullableString() }));
}

async function withAdmin<T>(use: (admin: ReturnType<ReturnType<typeof kafkaFor>["admin"]>) => Promise<T>): Promise<T> {
  const admin = kafkaFor(broker.brokers).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

describe("CreatePartitions", () => {
  it("grows a topic with empty partitions from offset 0 that Metadata, ListOffsets and a connected producer see", async () => {
    const topic = uniqueName("grow");
    broker.createTopic(topic, 2);
    // Connected before the topic grows: it learns of the new partitions from Metadata when it refreshes.
    const producer = producerFor(kafkaFor(broker.brokers), { metadataMaxAge: 100 });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: "p0", partition: 0 }, { value: "p1", partition: 1 }] });
    await withAdmin(async (admin) => {
      expect(await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] })).toBeUndefined();
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]).sort()).toEqual([[0, 1], [1, 1], [2, 1], [3, 1]]);
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.map((o) => [o.partition, o.low, o.high]).sort()).toEqual([[0, "0", "1"], [1, "0", "1"], [2, "0", "0"], [3, "0", "0"]]);
    });
    // Past metadataMaxAge the next send refreshes Metadata first. (Before that, kafkajs drops a message for a
    // partition it does not know yet without an error, against Kafka too.)
    await new Promise((resolve) => setTimeout(resolve, 150));
    await producer.send({ topic, messages: [{ value: "p3", partition: 3 }] });
    await producer.disconnect();
    expect(broker.records(topic, 3).map((r) => [r.offset, String(r.value)])).toEqual([[0, "p3"]]);
    expect(broker.records(topic, 0).map((r) => String(r.value))).toEqual(["p0"]);
  });

  it("refuses a count that is not larger, unknown topics and assignments to other brokers; validateOnly changes nothing", async () => {
    const topic = uniqueName("grow-errors");
    broker.createTopic(topic, 2);
    await withAdmin(async (admin) => {
      const fails = (count: number, name = topic) => admin.createPartitions({ topicPartitions: [{ topic: name, count }] });
      await expect(fails(2)).rejects.toMatchObject({ type: "INVALID_PARTITIONS" });
      await expect(fails(1)).rejects.toMatchObject({ type: "INVALID_PARTITIONS" });
      await expect(fails(3, uniqueName("missing"))).rejects.toMatchObject({ type: "UNKNOWN_TOPIC_OR_PARTITION" });
      await expect(admin.createPartitions({ topicPartitions: [{ topic, count: 3, assignments: [[2]] }] })).rejects.toMatchObject({ type: "INVALID_REPLICA_ASSIGNMENT" });
      await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic, count: 5 }] });
      expect(broker.state.topics.get(topic)!.partitions).toHaveLength(2);
      await admin.createPartitions({ topicPartitions: [{ topic, count: 4, assignments: [[1], [1]] }] });
      expect(broker.state.topics.get(topic)!.partitions).toHaveLength(4);
    });
    const missing = uniqueName("missing");
    expect(await createPartitionsRaw([{ topic, count: 4 }])).toEqual([
      { topic, errorCode: ErrorCode.INVALID_PARTITIONS, message: "Topic already has 4 partition(s)." },
    ]);
    expect(await createPartitionsRaw([{ topic, count: 3 }])).toEqual([
      { topic, errorCode: ErrorCode.INVALID_PARTITIONS, message: `The topic ${topic} currently has 4 partition(s); 3 would not be an increase.` },
    ]);
    const other = uniqueName("grow-twice");
    broker.createTopic(other, 1);
    expect(await createPartitionsRaw([{ topic: missing, count: 2 }, { topic: other, count: 2 }, { topic: other, count: 3 }])).toEqual([
      { topic: missing, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `The topic '${missing}' does not exist.` },
      { topic: other, errorCode: ErrorCode.INVALID_REQUEST, message: "Duplicate topic name." },
      { topic: other, errorCode: ErrorCode.INVALID_REQUEST, message: "Duplicate topic name." },
    ]);
    expect(broker.state.topics.get(other)!.partitions).toHaveLength(1);
    // A present but empty assignment list is a manual assignment of nothing, as Kafka's controller reads it.
    expect(await createPartitionsRaw([{ topic, count: 6, assignments: [] }])).toEqual([
      { topic, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: "Attempted to add 2 additional partition(s), but only 0 assignment(s) were specified." },
    ]);
    expect(await createPartitionsRaw([{ topic, count: 6, assignments: [[1, 1], [1]] }])).toEqual([
      { topic, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: "The manual partition assignment includes the broker 1 more than once." },
    ]);
    expect(await createPartitionsRaw([{ topic, count: 20_005 }])).toEqual([
      { topic, errorCode: ErrorCode.POLICY_VIOLATION, message: "Excessively large number of partitions per request." },
    ]);
    expect(await createPartitionsRaw([{ topic, count: 6 }], true)).toEqual([{ topic, errorCode: ErrorCode.NONE, message: null }]);
    expect(broker.state.topics.get(topic)!.partitions).toHaveLength(4);
  });

  it("rebalances a consumer group onto the new partitions once its members refresh metadata, as on Kafka", async () => {
    const topic = uniqueName("grow-group");
    const groupId = uniqueName("g");
    broker.createTopic(topic, 2);
    type Member = { consumer: Consumer; assigned: number[]; seen: string[] };
    const join = async (): Promise<Member> => {
      // kafkajs notices a grown topic when its metadata expires (metadataMaxAge, 5 minutes by default).
      const consumer = kafkaFor(broker.brokers).consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 100, metadataMaxAge: 200 });
      const m: Member = { consumer, assigned: [], seen: [] };
      consumer.on(consumer.events.GROUP_JOIN, (e) => void (m.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort()));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }: EachMessagePayload) => void m.seen.push(`${partition}:${String(message.value)}`) });
      return m;
    };
    const one = await join();
    const two = await join();
    await until(() => one.assigned.length === 1 && two.assigned.length === 1, "one partition each");
    await withAdmin((admin) => admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] }));
    await until(() => one.assigned.length === 2 && two.assigned.length === 2, "two partitions each after the topic grew");
    expect([...one.assigned, ...two.assigned].sort()).toEqual([0, 1, 2, 3]);
    const producer = producerFor(kafkaFor(broker.brokers));
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2, 3].map((partition) => ({ value: `v${partition}`, partition })) });
    await producer.disconnect();
    await until(() => one.seen.length + two.seen.length === 4, "a message from every partition");
    await Promise.all([one.consumer.disconnect(), two.consumer.disconnect()]);
    expect([...one.seen, ...two.seen].sort()).toEqual(["0:v0", "1:v1", "2:v2", "3:v3"]);
  });
});
