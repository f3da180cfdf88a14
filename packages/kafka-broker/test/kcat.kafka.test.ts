import { CompressionTypes, type EachMessagePayload } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRecordBatch, startBroker, type Broker } from "@koper/kafka-broker";
import { hasKcat, kafkaFor, kcatPath, producerFor, run, toolAvailable, uniqueName, until } from "./helpers.ts";

const KCAT = kcatPath();
const available = toolAvailable(`kcat (${KCAT}; set KOPER_KCAT to choose)`, hasKcat);

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ port: 0 });
});
afterAll(async () => {
  await broker.stop();
});

function kcat(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(KCAT, ["-b", broker.brokers[0]!, ...args], input);
}

/** Consumes a whole topic with CRC checks on; one "partition|offset|key|value|headers" line per message. */
async function consumeAll(topic: string, extra: string[] = []): Promise<string[]> {
  const result = await kcat(["-C", "-t", topic, "-o", "beginning", "-e", "-X", "check.crcs=true", "-f", "%p|%o|%k|%s|%h\\n", ...extra]);
  expect(result.stderr).not.toMatch(/crc|corrupt|error/i);
  expect(result.code).toBe(0);
  return result.stdout.split("\n").filter((line) => line !== "");
}

describe.skipIf(!available)("kcat (librdkafka) against the in-memory broker", () => {
  it("produces with -P and consumes from the beginning with check.crcs=true", async () => {
    const topic = uniqueName("kcat");
    const produced = await kcat(["-P", "-t", topic, "-K", ":", "-H", "origin=kcat"], "k1:v1\nk2:v2\nk3:v3\n");
    expect(produced.code).toBe(0);
    expect(await consumeAll(topic)).toEqual(["0|0|k1|v1|origin=kcat", "0|1|k2|v2|origin=kcat", "0|2|k3|v3|origin=kcat"]);
  });

  it("passes compressed batches through with valid CRCs (gzip, snappy, lz4, zstd)", async () => {
    const topic = uniqueName("kcat-codecs");
    for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
      const produced = await kcat(["-P", "-t", topic, "-K", ":", "-z", codec], `${codec}:a\n${codec}:b\n`);
      expect(produced.code).toBe(0);
    }
    const lines = await consumeAll(topic);
    expect(lines.map((line) => line.split("|").slice(1, 4).join("|"))).toEqual([
      "0|gzip|a", "1|gzip|b", "2|snappy|a", "3|snappy|b", "4|lz4|a", "5|lz4|b", "6|zstd|a", "7|zstd|b",
    ]);
  });

  it("recomputes the CRC when it stamps LogAppendTime, and kcat notices a bad CRC (negative control)", async () => {
    const topic = uniqueName("kcat-stamp");
    broker.createTopic(topic, 1, { logAppendTime: true });
    expect((await kcat(["-P", "-t", topic, "-K", ":"], "k:v\n")).code).toBe(0);
    const stamped = await kcat(["-C", "-t", topic, "-o", "beginning", "-e", "-X", "check.crcs=true", "-f", "%k=%s\\n"]);
    expect(stamped.stdout).toBe("k=v\n");
    expect(stamped.stderr).not.toMatch(/crc/i);

    const corrupt = encodeRecordBatch([{ key: Buffer.from("bad"), value: Buffer.from("crc") }]);
    corrupt[corrupt.length - 2] ^= 0xff; // change a payload byte after the CRC was computed
    const plainTopic = uniqueName("kcat-corrupt");
    broker.createTopic(plainTopic, 1); // CreateTime: the broker leaves the (bad) CRC as it is
    broker.state.topics.get(plainTopic)!.partitions[0]!.append(corrupt); // bypasses Produce's CRC check
    const checked = await kcat(["-C", "-t", plainTopic, "-o", "beginning", "-e", "-X", "check.crcs=true", "-f", "%k=%s\\n"]);
    expect(`${checked.stdout}${checked.stderr}`).toMatch(/crc|corrupt/i);
  });

  it("reads what kafkajs produced (plain, gzip, idempotent) with the same keys, values and headers", async () => {
    const topic = uniqueName("from-kafkajs");
    const producer = producerFor(kafkaFor(broker.brokers), { idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "a", value: "1", headers: { h: "x" } }] });
    await producer.send({ topic, compression: CompressionTypes.GZIP, messages: [{ key: "b", value: "2" }, { key: "c", value: "3", headers: { h: "y" } }] });
    await producer.disconnect();
    expect(await consumeAll(topic)).toEqual(["0|0|a|1|h=x", "0|1|b|2|", "0|2|c|3|h=y"]);
  });

  it("produces messages kafkajs consumes with the same keys, values and headers", async () => {
    const topic = uniqueName("to-kafkajs");
    expect((await kcat(["-P", "-t", topic, "-K", ":", "-H", "src=kcat"], "x:1\ny:2\n")).code).toBe(0);
    const seen: string[] = [];
    const consumer = kafkaFor(broker.brokers).consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }: EachMessagePayload) => {
        seen.push(`${String(message.key)}|${String(message.value)}|${String(message.headers?.src)}`);
      },
    });
    await until(() => seen.length === 2, "2 messages from kcat");
    await consumer.disconnect();
    expect(seen).toEqual(["x|1|kcat", "y|2|kcat"]);
  });

  it("group-consumes with -G, commits, and resumes with only the new messages", async () => {
    const topic = uniqueName("kcat-group");
    const groupId = uniqueName("g");
    broker.createTopic(topic, 2);
    const group = ["-G", groupId, topic, "-e", "-X", "auto.offset.reset=earliest", "-X", "check.crcs=true", "-f", "%k=%s\\n"];
    expect((await kcat(["-P", "-t", topic, "-K", ":"], "a:1\nb:2\nc:3\nd:4\n")).code).toBe(0);
    const first = await kcat(group);
    expect(first.code).toBe(0);
    expect(first.stdout.split("\n").filter(Boolean).sort()).toEqual(["a=1", "b=2", "c=3", "d=4"]);
    const committed = [...broker.committedOffsets(groupId).values()].reduce((sum, offset) => sum + offset, 0);
    expect(committed).toBe(4);

    expect((await kcat(["-P", "-t", topic, "-K", ":"], "e:5\nf:6\n")).code).toBe(0);
    const second = await kcat(group);
    expect(second.code).toBe(0);
    expect(second.stdout.split("\n").filter(Boolean).sort()).toEqual(["e=5", "f=6"]);
  });

  it("lists metadata with -L: this broker as controller and the topic's partitions", async () => {
    const topic = uniqueName("kcat-meta");
    broker.createTopic(topic, 3);
    const listed = await kcat(["-L", "-J"]);
    expect(listed.code).toBe(0);
    const metadata = JSON.parse(listed.stdout) as {
      controllerid: number;
      brokers: Array<{ id: number; name: string }>;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>;
    };
    expect(metadata.controllerid).toBe(1);
    expect(metadata.brokers).toEqual([{ id: 1, name: broker.brokers[0] }]);
    const found = metadata.topics.find((t) => t.topic === topic);
    expect(found?.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
  });

  it("keeps null keys, null values (tombstones) and empty and null header values apart (-Z)", async () => {
    const topic = uniqueName("kcat-nulls");
    expect((await kcat(["-P", "-t", topic, "-K", ":", "-Z", "-H", "empty=", "-H", "none"], "k1:\n:v2\nk3:v3\n")).code).toBe(0);
    const lines = await consumeAll(topic, ["-Z", "-f", "%o|%K|%k|%S|%s|%h\\n"]);
    expect(lines).toEqual(["0|2|k1|-1|NULL|empty=,none=NULL", "1|-1|NULL|2|v2|empty=,none=NULL", "2|2|k3|2|v3|empty=,none=NULL"]);
    expect(broker.records(topic).map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers.map(([, v]) => v?.toString() ?? null)])).toEqual([
      ["k1", null, ["", null]],
      [null, "v2", ["", null]],
      ["k3", "v3", ["", null]],
    ]);
  });

  it("serves 64 partitions and 100 more topics: produce, -L, and one group member reading every partition", async () => {
    const topic = uniqueName("kcat-p64");
    broker.createTopic(topic, 64);
    const others = Array.from({ length: 100 }, (_, i) => uniqueName(`kcat-many-${i}`));
    for (const name of others) broker.createTopic(name, 2);
    const input = Array.from({ length: 640 }, (_, i) => `k${i}:v${i}`).join("\n") + "\n";
    expect((await kcat(["-P", "-t", topic, "-K", ":"], input)).code).toBe(0);
    const listed = JSON.parse((await kcat(["-L", "-J"])).stdout) as { topics: Array<{ topic: string; partitions: unknown[] }> };
    expect(listed.topics.find((t) => t.topic === topic)?.partitions).toHaveLength(64);
    expect(others.every((name) => listed.topics.some((t) => t.topic === name))).toBe(true);
    const group = await kcat(["-G", uniqueName("g"), topic, "-e", "-X", "auto.offset.reset=earliest", "-X", "check.crcs=true", "-f", "%p|%k\\n"]);
    expect(group.code).toBe(0);
    const lines = group.stdout.split("\n").filter(Boolean);
    expect(new Set(lines.map((line) => line.split("|")[1])).size).toBe(640);
    expect(new Set(lines.map((line) => line.split("|")[0])).size).toBe(64);
  });

  it("fails a transactional producer at once with a clear error, and an idempotent one works", async () => {
    const topic = uniqueName("kcat-tx");
    const refused = await kcat(["-P", "-t", topic, "-X", `transactional.id=${uniqueName("tx")}`], "a\n");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Transactional Id authorization failed/);
    const idempotent = await kcat(["-P", "-t", topic, "-K", ":", "-z", "lz4", "-X", "enable.idempotence=true"], "k:1\nk:2\n");
    expect(idempotent.code).toBe(0);
    expect(await consumeAll(topic)).toEqual(["0|0|k|1|", "0|1|k|2|"]);
  });

  it("answers -Q (offsets by time) with the first record at or after the time, inside a batch", async () => {
    const topic = uniqueName("kcat-times");
    const t0 = Date.now() - 60_000;
    const producer = producerFor(kafkaFor(broker.brokers));
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 6 }, (_, i) => ({ value: `v${i}`, timestamp: String(t0 + i * 1000) })) });
    await producer.disconnect();
    expect(broker.state.topics.get(topic)!.partitions[0]!.batchCount).toBe(1);
    const answers: string[] = [];
    for (const at of [t0, t0 + 3000, t0 + 3500, t0 + 99_000]) {
      const queried = await kcat(["-Q", "-t", `${topic}:0:${at}`]);
      expect(queried.code).toBe(0);
      answers.push(queried.stdout.trim());
    }
    expect(answers).toEqual([0, 3, 4, -1].map((offset) => `${topic} [0] offset ${offset}`));
  });

  it("keeps a fetch response within fetch.max.bytes when several partitions hold big batches", async () => {
    const topic = uniqueName("kcat-fetch-budget");
    broker.createTopic(topic, 4);
    const big = "x".repeat(200_000);
    for (const partition of [0, 1, 2, 3]) {
      expect((await kcat(["-P", "-t", topic, "-p", String(partition), "-K", ":"], `k${partition}:${big}\n`)).code).toBe(0);
    }
    // librdkafka drops the connection on a response above receive.message.max.bytes (the least it allows: fetch.max.bytes + 512).
    const limits = ["-X", "fetch.max.bytes=300000", "-X", "receive.message.max.bytes=300512", "-X", "message.max.bytes=250000"];
    const lines = await consumeAll(topic, limits);
    expect(lines.map((line) => line.split("|").slice(0, 3).join("|")).sort()).toEqual(["0|0|k0", "1|0|k1", "2|0|k2", "3|0|k3"]);
  });
});
