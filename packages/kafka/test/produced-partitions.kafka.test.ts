// The drain behind KafkaTransport.drain() and PlatformaticKafkaTransport.drain(), against the
// embedded broker with each client's real admin (the OffsetsReader of each transport): end offsets
// of every produced topic, and a close signal it lets go of when it ends.
import { getEventListeners } from "node:events";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { Kafka, logLevel, Partitioners, type Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemberProgress } from "../src/MemberProgress.ts";
import { Admin as PlatformaticAdmin } from "@platformatic/kafka";
import { kafkajsOffsets } from "../src/kafkajs-admin.ts";
import { platformaticOffsets } from "../src/platformatic/admin.ts";
import type { OffsetsReader } from "../src/ProducedPartitions.ts";
import { ProducedPartitions } from "../src/ProducedPartitions.ts";

let broker: Broker;
let kafka: Kafka;
let admin: Admin;
let plt: PlatformaticAdmin;

beforeAll(async () => {
  broker = await startBroker({ port: 0 });
  kafka = new Kafka({ brokers: broker.brokers, clientId: "produced-partitions-test", logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  plt = new PlatformaticAdmin({ clientId: "produced-partitions-test", bootstrapBrokers: broker.brokers });
});
afterAll(async () => {
  await admin?.disconnect();
  await plt?.close();
  await broker?.stop();
});

// Each transport's reader of end and committed offsets.
const readers: { name: string; reader: () => OffsetsReader }[] = [
  { name: "kafkajs", reader: () => kafkajsOffsets(admin) },
  { name: "platformatic", reader: () => platformaticOffsets(plt) },
];

// Two topics of two partitions, `count` messages on partition 0 of each; what the producer reported.
async function produce(topics: string[], count: number): Promise<ProducedPartitions> {
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 2 })), waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const produced = new ProducedPartitions();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({ partition: 0, value: `m${i}` }));
    produced.record(await producer.sendBatch({ topicMessages: topics.map((topic) => ({ topic, messages })) }));
  } finally {
    await producer.disconnect();
  }
  return produced;
}

function member(topics: string[]): { subscription: { group: string; topics: string[] }; progress: MemberProgress } {
  const progress = new MemberProgress();
  progress.joined(Object.fromEntries(topics.map((topic) => [topic, [0, 1]])));
  return { subscription: { group: `g-${topics[0]}`, topics }, progress };
}

describe.each(readers)("ProducedPartitions.drain (offsets read by $name)", ({ name, reader }) => {
  it("waits for every produced topic's end offset, then leaves no listener on the close signal", async () => {
    const topics = [`pp-a-${name}-${process.pid}`, `pp-b-${name}-${process.pid}`];
    const produced = await produce(topics, 3);
    const m = member(topics);
    const closing = new AbortController();
    let settled = false;
    const drained = produced.drain([m], async () => reader(), 20_000, closing.signal).then(() => (settled = true));
    // The drain is waiting (it listens for close), and finishing one topic is not enough.
    await expect.poll(() => getEventListeners(closing.signal, "abort").length, { timeout: 10_000 }).toBe(1);
    m.progress.finished(topics[0]!, 0, 3n);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    m.progress.finished(topics[1]!, 0, 3n);
    await drained;
    expect(getEventListeners(closing.signal, "abort")).toHaveLength(0);
  });

  it("rejects with the closed error when the signal is aborted while it waits, and lets go of it", async () => {
    const topics = [`pp-c-${name}-${process.pid}`];
    const produced = await produce(topics, 2);
    const closing = new AbortController();
    const drained = produced.drain([member(topics)], async () => reader(), 20_000, closing.signal);
    await expect.poll(() => getEventListeners(closing.signal, "abort").length, { timeout: 10_000 }).toBe(1);
    closing.abort();
    await expect(drained).rejects.toMatchObject({ code: "stopped" });
    expect(getEventListeners(closing.signal, "abort")).toHaveLength(0);
  });

  it("lets go of the close signal when it times out", async () => {
    const topics = [`pp-d-${name}-${process.pid}`];
    const produced = await produce(topics, 1);
    const closing = new AbortController();
    await expect(produced.drain([member(topics)], async () => reader(), 300, closing.signal)).rejects.toMatchObject({ code: "drain_deadline_exceeded" });
    expect(getEventListeners(closing.signal, "abort")).toHaveLength(0);
  });
});
