import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, startBroker, type Broker } from "@koper/kafka-broker";
import { hasKafkaPython, kafkaFor, producerFor, pythonPath, run, toolAvailable, uniqueName, until } from "./helpers.ts";

const PYTHON = pythonPath();
const available = toolAvailable(`kafka-python (${PYTHON} -c 'import kafka'; set KOPER_PYTHON to choose)`, hasKafkaPython);

// One admin call per run: a JSON spec in, one JSON line out.
const ADMIN = `
import json, sys
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions
from kafka.protocol.api import Request, Response
from kafka.protocol.types import Array, Int16, Int32, Int64, Schema, String

# kafka-python 2.0.2 has no delete_records: the request is built from its own protocol types.
class DeleteRecordsResponse_v0(Response):
    API_KEY = 21
    API_VERSION = 0
    SCHEMA = Schema(('throttle_time_ms', Int32), ('topics', Array(('name', String('utf-8')),
        ('partitions', Array(('partition_index', Int32), ('low_watermark', Int64), ('error_code', Int16))))))

class DeleteRecordsRequest_v0(Request):
    API_KEY = 21
    API_VERSION = 0
    RESPONSE_TYPE = DeleteRecordsResponse_v0
    SCHEMA = Schema(('topics', Array(('name', String('utf-8')), ('partitions', Array(('partition_index', Int32), ('offset', Int64))))),
        ('timeout_ms', Int32))

bootstrap, action = sys.argv[1:3]
spec = json.load(sys.stdin)
if action == "offsets":
    # Watermarks by ListOffsets, then a fetch from below the log start: OFFSET_OUT_OF_RANGE resets it to the earliest.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    tps = [TopicPartition(spec["topic"], p) for p in spec["partitions"]]
    begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    consumer.assign([tps[0]])
    consumer.seek(tps[0], 0)
    read = [m.offset for _, m in zip(range(spec["count"]), consumer)]
    print(json.dumps({"watermarks": [[tp.partition, begin[tp], end[tp]] for tp in tps], "read": read}))
    consumer.close()
    sys.exit(0)
admin = KafkaAdminClient(bootstrap_servers=bootstrap)
if action == "describe-configs":
    resources = [ConfigResource(ConfigResourceType[r["type"]], r["name"], dict.fromkeys(r["keys"]) if r.get("keys") else None)
                 for r in spec["resources"]]
    out = []
    for response in admin.describe_configs(resources, include_synonyms=spec.get("synonyms", False)):
        for error_code, _, resource_type, resource_name, entries in response.resources:
            out.append({"error": error_code, "type": resource_type, "name": resource_name,
                        "entries": [[e[0], e[1], e[2], e[3], e[4], [list(s) for s in e[5]]] for e in entries]})
    print(json.dumps(out))
elif action == "create-partitions":
    try:
        result = admin.create_partitions({spec["topic"]: NewPartitions(spec["count"], spec.get("assignments"))},
                                         validate_only=spec.get("validate_only", False))
        print(json.dumps([list(e) for e in result.topic_errors]))
    except Exception as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
elif action == "delete-records":
    request = DeleteRecordsRequest_v0(topics=[(t, [(p, o) for p, o in parts]) for t, parts in spec["topics"]], timeout_ms=5000)
    future = admin._send_request_to_node(admin._client.least_loaded_node(), request)
    admin._wait_for_futures([future])
    print(json.dumps([[name, [list(p) for p in partitions]] for name, partitions in future.value.topics]))
admin.close()
`;

// A group member that refreshes metadata every 300 ms and prints its assignment and messages, until stdin closes.
const MEMBER = `
import json, select, sys
from kafka import KafkaConsumer
bootstrap, topic, group = sys.argv[1:4]
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                         metadata_max_age_ms=300, session_timeout_ms=6000, heartbeat_interval_ms=300)
assigned = None
while not select.select([sys.stdin], [], [], 0)[0]:
    polled = consumer.poll(timeout_ms=100)
    now = sorted(tp.partition for tp in consumer.assignment())
    if now != assigned:
        assigned = now
        print(json.dumps({"assigned": now}), flush=True)
    for tp, messages in polled.items():
        for m in messages:
            print(json.dumps({"partition": m.partition, "offset": m.offset, "value": m.value.decode()}), flush=True)
consumer.close()
`;

let broker: Broker;
let adminScript: string;
let memberScript: string;
beforeAll(async () => {
  broker = await startBroker({ port: 0, partitions: 1 });
  adminScript = join(tmpdir(), `koper-kafka-python-admin-apis-${process.pid}.py`);
  memberScript = join(tmpdir(), `koper-kafka-python-grow-member-${process.pid}.py`);
  writeFileSync(adminScript, ADMIN);
  writeFileSync(memberScript, MEMBER);
});
afterAll(async () => {
  await broker.stop();
  rmSync(adminScript, { force: true });
  rmSync(memberScript, { force: true });
});

async function python(action: string, spec: Record<string, unknown>): Promise<unknown> {
  const result = await run(PYTHON, [adminScript, broker.brokers[0]!, action], JSON.stringify(spec), 30_000);
  if (result.code !== 0) throw new Error(`kafka-python ${action} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").pop()!);
}

async function produce(topic: string, messages: Array<{ value: string; partition: number }>): Promise<void> {
  const producer = producerFor(kafkaFor(broker.brokers));
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
}

type Described = { error: number; type: number; name: string; entries: Array<[string, string, boolean, number, boolean, unknown[]]> };

describe.skipIf(!available)("kafka-python 2.0.2 admin: DescribeConfigs, CreatePartitions, DeleteRecords", () => {
  it("describe_configs answers topics and the broker, and a missing topic in the same call with its own error", async () => {
    const topic = uniqueName("py-configs");
    broker.createTopic(topic, 1, { maxPartitionBytes: 1024 * 1024 });
    const missing = uniqueName("missing");
    const answers = (await python("describe-configs", {
      synonyms: true,
      resources: [
        { type: "TOPIC", name: topic, keys: ["retention.bytes", "cleanup.policy"] },
        { type: "TOPIC", name: missing },
        { type: "BROKER", name: "1", keys: ["num.partitions", "auto.create.topics.enable"] },
      ],
    })) as Described[];
    const byName = Object.fromEntries(answers.map((a) => [a.name, a]));
    expect(byName[topic]).toEqual({
      error: 0,
      type: 2,
      name: topic,
      entries: [
        ["cleanup.policy", "delete", true, 5, false, [["log.cleanup.policy", "delete", 5]]],
        ["retention.bytes", "1048576", true, 1, false, [["retention.bytes", "1048576", 1], ["log.retention.bytes", "67108864", 5]]],
      ],
    });
    expect(byName[missing]).toEqual({ error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, type: 2, name: missing, entries: [] });
    expect(byName["1"]!.entries.map((e) => [e[0], e[1], e[3]])).toEqual([["auto.create.topics.enable", "true", 5], ["num.partitions", "1", 4]]);
  }, 40_000);

  it("create_partitions grows a topic, validate_only changes nothing, and a count that is not larger is refused", async () => {
    const topic = uniqueName("py-grow");
    broker.createTopic(topic, 1);
    expect(await python("create-partitions", { topic, count: 4, validate_only: true })).toEqual([[topic, 0, null]]);
    expect(broker.state.topics.get(topic)!.partitions).toHaveLength(1);
    expect(await python("create-partitions", { topic, count: 3, assignments: [[1], [1]] })).toEqual([[topic, 0, null]]);
    expect(broker.state.topics.get(topic)!.partitions).toHaveLength(3);
    const refused = (await python("create-partitions", { topic, count: 2 })) as { error: string; message: string };
    expect(refused.error).toBe("InvalidPartitionsError");
    expect(refused.message).toContain("currently has 3 partition(s); 2 would not be an increase.");
    const elsewhere = (await python("create-partitions", { topic, count: 4, assignments: [[2]] })) as { error: string; message: string };
    expect(elsewhere.error).toBe("InvalidReplicationAssignmentError"); // kafka-python's name for error 39
    expect(elsewhere.message).toContain("includes broker 2, but no such broker is registered.");
  }, 40_000);

  it("a kafka-python group member is rebalanced onto the partitions a grown topic gained", async () => {
    const topic = uniqueName("py-grow-group");
    broker.createTopic(topic, 1);
    const events: Array<{ assigned?: number[]; partition?: number; value?: string }> = [];
    const child = spawn(PYTHON, [memberScript, broker.brokers[0]!, topic, uniqueName("g")], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") events.push(JSON.parse(line) as (typeof events)[number]);
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const assigned = () => events.filter((e) => e.assigned).at(-1)?.assigned ?? [];
    try {
      await until(() => assigned().length === 1, `the member to own partition 0 (${stderr})`, 30_000);
      const admin = kafkaFor(broker.brokers).admin();
      await admin.connect();
      await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
      await admin.disconnect();
      await until(() => assigned().length === 3, `the member to own all 3 partitions (${stderr})`, 30_000);
      await produce(topic, [0, 1, 2].map((partition) => ({ value: `v${partition}`, partition })));
      await until(() => events.filter((e) => e.value).length === 3, "a message from each partition", 30_000);
      expect(events.filter((e) => e.value).map((e) => `${e.partition}:${e.value}`).sort()).toEqual(["0:v0", "1:v1", "2:v2"]);
    } finally {
      child.stdin.end();
      await exited;
    }
  }, 90_000);

  it("DeleteRecords encoded by kafka-python's protocol types moves the start its consumer then reads", async () => {
    const topic = uniqueName("py-delete");
    broker.createTopic(topic, 2);
    await produce(topic, Array.from({ length: 6 }, (_, i) => ({ value: `v${i}`, partition: 0 })));
    await produce(topic, [{ value: "w0", partition: 1 }]);
    const missing = uniqueName("missing");
    const answer = await python("delete-records", {
      topics: [[topic, [[0, 4], [1, -1]]], [missing, [[0, 0]]]],
    });
    expect(answer).toEqual([
      [topic, [[0, 4, ErrorCode.NONE], [1, 1, ErrorCode.NONE]]],
      [missing, [[0, -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    expect(await python("delete-records", { topics: [[topic, [[0, 7]]]] })).toEqual([[topic, [[0, -1, ErrorCode.OFFSET_OUT_OF_RANGE]]]]);
    expect(await python("offsets", { topic, partitions: [0, 1], count: 2 })).toEqual({ watermarks: [[0, 4, 6], [1, 1, 1]], read: [4, 5] });
  }, 40_000);
});
