import { ConfigError, dataListener, isKoperError, type DataEvent } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { PlatformaticKafkaTransport } from "@koper/kafka/platformatic";
import { CompressionTypes } from "kafkajs";
import { describe, expect, it } from "vitest";
import { hasKafkaPython, hasKcat, kcatPath, pythonPath, run, toolAvailable } from "../../packages/kafka-broker/test/helpers.ts";
import { brokerPerTest, kafkaTransports, koperFor, uniqueName, until } from "./support.ts";

const CODEC_MASK = 0x07;

describe.each(kafkaTransports)("Kafka transport compression on $name (embedded broker)", (kind) => {
  const ctx = brokerPerTest();

  // The codec bits of every record batch the broker holds for the topic, in order.
  function codecsOf(topic: string): number[] {
    const partition = ctx.broker.state.topics.get(topic)!.partitions[0]!;
    const codecs: number[] = [];
    for (const bytes of partition.read(0, 64 * 1024 * 1024)) {
      // Batches back to back: baseOffset (8), batchLength (4), then batchLength bytes.
      for (let at = 0; at < bytes.length; at += 12 + bytes.readInt32BE(at + 8)) codecs.push(bytes.readInt16BE(at + 21) & CODEC_MASK);
    }
    return codecs;
  }

  async function roundTrip(compression: "gzip" | "zstd", compressionMinBytes?: number) {
    const prefix = uniqueName("zip");
    const topic = `${prefix}.Order`;
    const got: DataEvent[] = [];
    const kafka = { partitions: 1, compression, ...(compressionMinBytes === undefined ? {} : { compressionMinBytes }) };
    const koper = koperFor(ctx.broker.brokers, { kind, topics: { prefix }, kafka });
    ctx.kopers.push(koper);
    koper.register(dataListener()({ entity: "Order", group: uniqueName("g"), onInsertOrder: (_row, event) => void got.push(event) }));
    await koper.start();
    const write = async (ids: number[]) => {
      const tx = {};
      koper.capture.begin(tx);
      for (const id of ids) await koper.capture.record(tx, { entity: "Order", action: "insert", key: { id }, data: { id, at: new Date(id), note: "n".repeat(300) }, source: { orm: "test" } });
      await koper.capture.commit(tx);
    };
    await write([1]); // one small event: under compressionMinBytes
    await until(() => got.length === 1, "the first event");
    await write(Array.from({ length: 50 }, (_, i) => 2 + i));
    await until(() => got.length === 51, () => `51 events (got ${got.length})`);
    expect(got.map((e) => e.key!.id)).toEqual(Array.from({ length: 51 }, (_, i) => 1 + i));
    expect(got[10]!.data!.at).toEqual(new Date(11));
    return { topic, codecs: codecsOf(topic) };
  }

  it.each([
    ["gzip", CompressionTypes.GZIP],
    ["zstd", CompressionTypes.ZSTD],
  ] as const)("sends large batches %s-compressed and small ones plain; the broker validates and serves them", async (name, codec) => {
    const { codecs } = await roundTrip(name);
    expect(codecs).toEqual([CompressionTypes.None, codec]);
  });

  it("compresses every request with compressionMinBytes: 0", async () => {
    expect((await roundTrip("gzip", 0)).codecs).toEqual([CompressionTypes.GZIP, CompressionTypes.GZIP]);
  });

  it("refuses a codec its client has none for when the transport is made, not at the first send", () => {
    let error: unknown;
    try {
      if (kind.name === "kafkajs") new KafkaTransport({ brokers: ctx.broker.brokers, compression: CompressionTypes.LZ4 });
      else new PlatformaticKafkaTransport({ brokers: ctx.broker.brokers, compression: "brotli" as "gzip" });
    } catch (e) {
      error = e;
    }
    expect(isKoperError(error) && error instanceof ConfigError && error.code === "invalid_config").toBe(true);
    expect(String(error)).toMatch(kind.name === "kafkajs" ? /compression.*LZ4|compression.*3/ : /compression.*brotli/);
  });

  const kcat = toolAvailable(`kcat (${kcatPath()}; set KOPER_KCAT to choose)`, hasKcat);
  it.skipIf(!kcat).each(["gzip", "zstd"] as const)("librdkafka (kcat, check.crcs) reads what Koper sent %s-compressed", async (name) => {
    const { topic } = await roundTrip(name);
    const read = await run(kcatPath(), ["-b", ctx.broker.brokers[0]!, "-C", "-t", topic, "-o", "beginning", "-e", "-X", "check.crcs=true", "-f", "%h %s\\n"]);
    expect(read.stderr).not.toMatch(/crc|corrupt|error/i);
    const lines = read.stdout.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(51);
    expect(lines[1]).toMatch(/content-type=application\/vnd\.koper\.v2\+json.* \{"v":2,/);
  });

  const python = toolAvailable(`kafka-python (${pythonPath()}; set KOPER_PYTHON to choose)`, hasKafkaPython);
  it.skipIf(!python)("kafka-python reads what Koper sent gzip-compressed", async () => {
    const { topic } = await roundTrip("gzip");
    const script = [
      "import sys, json",
      "from kafka import KafkaConsumer",
      `c = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], auto_offset_reset="earliest", consumer_timeout_ms=5000, api_version=(2, 0, 0))`,
      "print(sum(1 for m in c if json.loads(m.value)['v'] == 2))",
    ].join("\n");
    const read = await run(pythonPath(), ["-c", script, ctx.broker.brokers[0]!, topic], undefined, 30_000);
    expect(read.stdout.trim()).toBe("51");
  });
});

