import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EachMessagePayload } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { hasKafkaPython, kafkaFor, producerFor, pythonPath, run, toolAvailable, uniqueName, until } from "./helpers.ts";

const PYTHON = pythonPath();
const available = toolAvailable(`kafka-python (${PYTHON} -c 'import kafka'; set KOPER_PYTHON to choose)`, hasKafkaPython);

const SCRIPT = `
import json, sys
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

mode, bootstrap, topic, api, group, count = sys.argv[1:7]
options = {} if api == "auto" else {"api_version": tuple(int(x) for x in api.split("."))}

def text(b):
    return None if b is None else b.decode("utf-8")

if mode == "produce":
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **options)
    offsets = []
    for m in json.load(sys.stdin):
        headers = [(k, v.encode()) for k, v in m.get("headers", {}).items()]
        meta = producer.send(topic, key=m["key"].encode(), value=m["value"].encode(), headers=headers).get(timeout=15)
        offsets.append(meta.offset)
    producer.flush()
    producer.close()
    print(json.dumps(offsets))
elif mode == "times":
    # Records with the given timestamps in one batch, then offsets_for_times and a seek to each answer.
    spec = json.load(sys.stdin)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=500, **options)
    futures = [producer.send(topic, value=("v%d" % i).encode(), timestamp_ms=ts) for i, ts in enumerate(spec["timestamps"])]
    producer.flush()
    [f.get(timeout=15) for f in futures]
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=5000, **options)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    answers = []
    for query in spec["queries"]:
        found = consumer.offsets_for_times({tp: query})[tp]
        first = None
        if found is not None:
            consumer.seek(tp, found.offset)
            first = text(next(consumer).value)
        answers.append(None if found is None else {"offset": found.offset, "timestamp": found.timestamp, "first": first})
    consumer.close()
    print(json.dumps(answers))
else:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group or None, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=15000, **options)
    seen = []
    for m in consumer:
        seen.append({"offset": m.offset, "key": text(m.key), "value": text(m.value),
                     "headers": {k: text(v) for k, v in m.headers}})
        if len(seen) >= int(count):
            break
    if group:
        consumer.commit()
    consumer.close(autocommit=False)
    print(json.dumps(seen))
`;

type PyMessage = { offset: number; key: string; value: string; headers: Record<string, string> };
type Message = { key: string; value: string; headers?: Record<string, string> };

let broker: Broker;
let scriptPath: string;
beforeAll(async () => {
  broker = await startBroker({ port: 0 });
  scriptPath = join(tmpdir(), `koper-kafka-python-${process.pid}.py`);
  writeFileSync(scriptPath, SCRIPT);
});
afterAll(async () => {
  await broker.stop();
  rmSync(scriptPath, { force: true });
});

async function python(args: string[], input?: string): Promise<unknown> {
  const result = await run(PYTHON, [scriptPath, ...args], input, 30_000);
  if (result.code !== 0) throw new Error(`kafka-python failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").pop()!);
}

function pyProduce(topic: string, api: string, messages: Message[]): Promise<unknown> {
  return python(["produce", broker.brokers[0]!, topic, api, "", "0"], JSON.stringify(messages));
}

async function pyConsume(topic: string, api: string, count: number, group = ""): Promise<PyMessage[]> {
  return (await python(["consume", broker.brokers[0]!, topic, api, group, String(count)])) as PyMessage[];
}

describe.skipIf(!available)("kafka-python 2.0.2 against the in-memory broker", () => {
  for (const api of ["0.11.0", "auto"]) {
    it(`produces and consumes with api_version=${api}`, async () => {
      const topic = uniqueName("py");
      const messages = [
        { key: "k1", value: "v1", headers: { h: "1" } },
        { key: "k2", value: "v2" },
      ];
      expect(await pyProduce(topic, api, messages)).toEqual([0, 1]);
      const seen = await pyConsume(topic, api, 2);
      expect(seen).toEqual([
        { offset: 0, key: "k1", value: "v1", headers: { h: "1" } },
        { offset: 1, key: "k2", value: "v2", headers: {} },
      ]);
    }, 40_000);
  }

  it("group-consumes, commits with OffsetCommit v2 and resumes with only the new messages", async () => {
    const topic = uniqueName("py-group");
    const groupId = uniqueName("g");
    await pyProduce(topic, "0.11.0", [1, 2, 3].map((i) => ({ key: `a${i}`, value: `a${i}` })));
    expect((await pyConsume(topic, "0.11.0", 3, groupId)).map((m) => m.value)).toEqual(["a1", "a2", "a3"]);
    expect(broker.committedOffsets(groupId).get(`${topic}/0`)).toBe(3);
    await pyProduce(topic, "0.11.0", [4, 5].map((i) => ({ key: `b${i}`, value: `b${i}` })));
    const resumed = await pyConsume(topic, "0.11.0", 2, groupId);
    expect(resumed.map((m) => [m.offset, m.value])).toEqual([[3, "b4"], [4, "b5"]]);
  }, 60_000);

  it("offsets_for_times finds the first record at or after the time inside a batch, and seek delivers from there", async () => {
    const topic = uniqueName("py-times");
    const t0 = Date.now() - 60_000;
    const timestamps = Array.from({ length: 10 }, (_, i) => t0 + i * 1000);
    const queries = [t0, t0 + 5000, t0 + 5500, t0 + 9000, t0 + 9001];
    const answers = await python(["times", broker.brokers[0]!, topic, "auto", "", "0"], JSON.stringify({ timestamps, queries }));
    expect(broker.state.topics.get(topic)!.partitions[0]!.batchCount).toBe(1); // one batch: the lookup must look inside it
    expect(answers).toEqual([
      { offset: 0, timestamp: t0, first: "v0" },
      { offset: 5, timestamp: t0 + 5000, first: "v5" },
      { offset: 6, timestamp: t0 + 6000, first: "v6" },
      { offset: 9, timestamp: t0 + 9000, first: "v9" },
      null,
    ]);
  }, 40_000);

  it("reads what kafkajs produced, and kafkajs reads what kafka-python produced", async () => {
    const toPython = uniqueName("js-to-py");
    const producer = producerFor(kafkaFor(broker.brokers), { idempotent: true });
    await producer.connect();
    await producer.send({ topic: toPython, messages: [{ key: "j1", value: "from-js", headers: { trace: "abc" } }, { key: "j2", value: "again" }] });
    await producer.disconnect();
    const seen = await pyConsume(toPython, "0.11.0", 2);
    expect(seen.map((m) => [m.key, m.value, m.headers])).toEqual([["j1", "from-js", { trace: "abc" }], ["j2", "again", {}]]);

    const toJs = uniqueName("py-to-js");
    await pyProduce(toJs, "auto", [{ key: "p1", value: "from-py", headers: { x: "y" } }]);
    const received: string[] = [];
    const consumer = kafkaFor(broker.brokers).consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: toJs, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }: EachMessagePayload) => {
        received.push(`${String(message.key)}|${String(message.value)}|${String(message.headers?.x)}`);
      },
    });
    await until(() => received.length === 1, "the kafka-python message");
    await consumer.disconnect();
    expect(received).toEqual(["p1|from-py|y"]);
  }, 60_000);
});
