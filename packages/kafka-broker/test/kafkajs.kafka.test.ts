import { AssignerProtocol, CompressionTypes, type Consumer, type EachMessagePayload } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ port: 0, partitions: 1 });
});
afterAll(async () => {
  await broker.stop();
});

type Seen = { partition: number; offset: string; key: string; value: string; headers: Record<string, string> };

function collect(into: Seen[]) {
  return async ({ partition, message }: EachMessagePayload) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
    into.push({ partition, offset: message.offset, key: String(message.key), value: String(message.value), headers });
  };
}

describe("kafkajs against the in-memory broker", () => {
  it("creates topics and serves admin metadata, topic list and offsets", async () => {
    const topic = uniqueName("admin");
    const admin = kafkaFor(broker.brokers).admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(false);
      expect(await admin.listTopics()).toContain(topic);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
      expect(metadata.topics[0]!.partitions[0]!.leader).toBe(1);
      const producer = producerFor(kafkaFor(broker.brokers));
      await producer.connect();
      await producer.send({ topic, messages: [{ value: "a", partition: 2 }, { value: "b", partition: 2 }] });
      await producer.disconnect();
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.find((o) => o.partition === 2)).toMatchObject({ low: "0", high: "2", offset: "2" });
      expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: "0", high: "0" });
      expect(broker.topics()).toContain(topic);
      await admin.deleteTopics({ topics: [topic] });
      expect(await admin.listTopics()).not.toContain(topic);
    } finally {
      await admin.disconnect();
    }
  });

  it("round-trips keys, values and headers, plain, gzip and idempotent, from the beginning", async () => {
    const topic = uniqueName("roundtrip");
    const kafka = kafkaFor(broker.brokers);
    const plain = producerFor(kafka);
    const idempotent = producerFor(kafka, { idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([plain.connect(), idempotent.connect()]);
    await plain.send({ topic, messages: [{ key: "k1", value: "plain", headers: { trace: "t1" } }] });
    await plain.send({ topic, compression: CompressionTypes.GZIP, messages: [{ key: "k2", value: "gzip-1" }, { key: "k3", value: "gzip-2" }] });
    await idempotent.send({ topic, acks: -1, messages: [{ key: "k4", value: "idem", headers: { a: "1", b: "2" } }] });
    await Promise.all([plain.disconnect(), idempotent.disconnect()]);

    const seen: Seen[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: collect(seen) });
    await until(() => seen.length >= 4, "4 messages");
    await consumer.disconnect();
    expect(seen.map((s) => [s.offset, s.key, s.value])).toEqual([
      ["0", "k1", "plain"],
      ["1", "k2", "gzip-1"],
      ["2", "k3", "gzip-2"],
      ["3", "k4", "idem"],
    ]);
    expect(seen[0]!.headers).toEqual({ trace: "t1" });
    expect(seen[3]!.headers).toEqual({ a: "1", b: "2" });
    expect(broker.records(topic).map((r) => r.value?.toString())).toEqual(["plain", "gzip-1", "gzip-2", "idem"]);
  });

  it("refuses a transactional producer at once with a non-retriable error instead of hanging", async () => {
    const producer = producerFor(kafkaFor(broker.brokers), { transactionalId: uniqueName("tx"), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await expect(producer.transaction()).rejects.toMatchObject({ type: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", retriable: false });
    } finally {
      await producer.disconnect();
    }
  }, 5_000);

  it("hands out increasing producer ids to idempotent producers", async () => {
    const before = broker.state.lastProducerId;
    const kafka = kafkaFor(broker.brokers);
    const a = producerFor(kafka, { idempotent: true });
    const b = producerFor(kafka, { idempotent: true });
    await a.connect();
    await b.connect();
    await a.send({ topic: uniqueName("pid"), messages: [{ value: "x" }] });
    await b.send({ topic: uniqueName("pid"), messages: [{ value: "y" }] });
    await Promise.all([a.disconnect(), b.disconnect()]);
    expect(broker.state.lastProducerId).toBeGreaterThanOrEqual(before + 2);
  });

  it("wakes a long-polling consumer when a message is produced later", async () => {
    const topic = uniqueName("longpoll");
    broker.createTopic(topic, 1);
    const kafka = kafkaFor(broker.brokers);
    const seen: Seen[] = [];
    let joined = false;
    // A 20 s max wait: the message must arrive through the append wake-up, not the timer.
    const consumer = kafka.consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 20_000 });
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: collect(seen) });
    await until(() => joined, "consumer joined");
    const producer = producerFor(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "late", value: "arrives" }] });
    await until(() => seen.length === 1, "the late message", 10_000);
    // kafkajs waits for its in-flight fetch on disconnect; a second message ends that long poll too.
    await producer.send({ topic, messages: [{ key: "wake", value: "up" }] });
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
    expect(seen[0]).toMatchObject({ key: "late", value: "arrives" });
  }, 15_000);

  it("commits offsets and a restarted consumer resumes after them", async () => {
    const topic = uniqueName("resume");
    const groupId = uniqueName("g");
    const kafka = kafkaFor(broker.brokers);
    const producer = producerFor(kafka);
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `first-${i}` })) });

    const firstRun: Seen[] = [];
    const first = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await first.connect();
    await first.subscribe({ topic, fromBeginning: true });
    await first.run({ eachMessage: collect(firstRun) });
    await until(() => firstRun.length === 5, "first 5 messages");
    await first.disconnect();
    expect(broker.committedOffsets(groupId).get(`${topic}/0`)).toBe(5);

    await producer.send({ topic, messages: Array.from({ length: 3 }, (_, i) => ({ value: `second-${i}` })) });
    await producer.disconnect();
    const secondRun: Seen[] = [];
    const second = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await second.connect();
    await second.subscribe({ topic, fromBeginning: true });
    await second.run({ eachMessage: collect(secondRun) });
    await until(() => secondRun.length >= 3, "3 new messages");
    await second.disconnect();
    expect(secondRun.map((s) => s.value)).toEqual(["second-0", "second-1", "second-2"]);
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    expect(committed[0]!.partitions[0]).toMatchObject({ partition: 0, offset: "8" });
  });
});

describe("kafkajs consumer groups", () => {
  type Member = { consumer: Consumer; seen: Seen[]; assigned: number[]; release: () => void };

  async function member(topic: string, groupId: string, options: { sessionTimeout?: number; hang?: boolean } = {}): Promise<Member> {
    const kafka = kafkaFor(broker.brokers);
    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      heartbeatInterval: 100,
      sessionTimeout: options.sessionTimeout ?? 10_000,
      rebalanceTimeout: 10_000,
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const m: Member = { consumer, seen: [], assigned: [], release };
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      m.assigned = [...(event.payload.memberAssignment[topic] ?? [])].sort();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const record = collect(m.seen);
    await consumer.run({
      eachMessage: async (payload) => {
        await record(payload);
        // A member stuck in its handler stops heartbeating, like a hung process.
        if (options.hang) await released;
      },
    });
    return m;
  }

  async function produce(topic: string, count: number, prefix: string): Promise<void> {
    const producer = producerFor(kafkaFor(broker.brokers));
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `${prefix}-${i}`, value: `${prefix}-${i}` })) });
    await producer.disconnect();
  }

  function values(members: Member[]): Set<string> {
    return new Set(members.flatMap((m) => m.seen.map((s) => s.value)));
  }

  it("shares 4 partitions between 2 members and rebalances when one leaves", async () => {
    const topic = uniqueName("group-leave");
    const groupId = uniqueName("g");
    broker.createTopic(topic, 4);
    await produce(topic, 40, "a");
    const one = await member(topic, groupId);
    const two = await member(topic, groupId);
    await until(() => one.assigned.length === 2 && two.assigned.length === 2, "2 partitions each");
    expect([...one.assigned, ...two.assigned].sort()).toEqual([0, 1, 2, 3]);
    await until(() => values([one, two]).size === 40, "all 40 messages");

    await one.consumer.disconnect();
    await until(() => two.assigned.length === 4, "the remaining member to own all 4 partitions");
    await produce(topic, 20, "b");
    await until(() => two.seen.filter((s) => s.value.startsWith("b-")).length >= 20, "20 new messages on the survivor");
    await two.consumer.disconnect();
    expect(broker.state.groups.get(groupId)?.members.size).toBe(0);
  });

  it("describes and lists groups, sets offsets (which needs DescribeGroups) once the group is empty, and deletes it", async () => {
    const topic = uniqueName("group-describe");
    const groupId = uniqueName("g");
    broker.createTopic(topic, 2);
    await produce(topic, 6, "d");
    const one = await member(topic, groupId);
    await until(() => one.assigned.length === 2 && values([one]).size === 6, "the member to own both partitions and read 6");
    const admin = kafkaFor(broker.brokers).admin();
    await admin.connect();
    try {
      expect((await admin.listGroups()).groups).toContainEqual({ groupId, protocolType: "consumer" });
      const [described] = (await admin.describeGroups([groupId])).groups;
      expect(described).toMatchObject({ groupId, state: "Stable", protocolType: "consumer", protocol: "RoundRobinAssigner" });
      expect(described!.members).toHaveLength(1);
      expect(described!.members[0]!.clientHost).toBe("/127.0.0.1");
      expect(AssignerProtocol.MemberAssignment.decode(described!.members[0]!.memberAssignment)?.assignment).toEqual({ [topic]: [0, 1] });
      await expect(admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "0" }] })).rejects.toThrow(/no running instances/);

      await one.consumer.disconnect();
      expect((await admin.describeGroups([groupId])).groups[0]).toMatchObject({ state: "Empty", members: [] });
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "1" }] });
      expect(broker.committedOffsets(groupId).get(`${topic}/0`)).toBe(1);
      expect(await admin.deleteGroups([groupId])).toEqual([{ groupId, errorCode: 0 }]);
      expect(broker.committedOffsets(groupId).size).toBe(0);
    } finally {
      await admin.disconnect();
    }
  });

  it("evicts a member whose session times out and gives its partitions to the other", async () => {
    const topic = uniqueName("group-dead");
    const groupId = uniqueName("g");
    broker.createTopic(topic, 4);
    const healthy = await member(topic, groupId);
    await until(() => healthy.assigned.length === 4, "first member owns all partitions");
    const stuck = await member(topic, groupId, { sessionTimeout: 1_000, hang: true });
    await until(() => stuck.assigned.length === 2 && healthy.assigned.length === 2, "2 partitions each");
    await produce(topic, 8, "c");
    await until(() => stuck.seen.length >= 1, "the stuck member to take a message");
    await until(() => healthy.assigned.length === 4, "eviction of the stuck member");
    await until(() => values([healthy]).size === 8, "all 8 messages on the healthy member");
    expect(broker.state.groups.get(groupId)?.members.size).toBe(1);
    await healthy.consumer.disconnect();
    stuck.release();
    await stuck.consumer.disconnect().catch(() => {});
  });
});
