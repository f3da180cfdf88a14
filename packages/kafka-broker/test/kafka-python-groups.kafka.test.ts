import { spawn, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { hasKafkaPython, kafkaFor, producerFor, pythonPath, run, toolAvailable, uniqueName, until } from "./helpers.ts";

const PYTHON = pythonPath();
const available = toolAvailable(`kafka-python (${PYTHON} -c 'import kafka'; set KOPER_PYTHON to choose)`, hasKafkaPython);

// One group member: polls until its stop file appears, commits each message before reporting it,
// and prints one JSON line per event (assignment changes and messages).
const MEMBER = `
import json, os, sys
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata
bootstrap, topic, group, name, stopfile = sys.argv[1:6]
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id=name, auto_offset_reset="earliest",
                         enable_auto_commit=False, session_timeout_ms=3000, heartbeat_interval_ms=300,
                         max_poll_interval_ms=10000, max_poll_records=5)
def say(**event):
    print(json.dumps(dict(name=name, **event)), flush=True)
assigned = None
while not os.path.exists(stopfile):
    polled = consumer.poll(timeout_ms=100)
    now = sorted(tp.partition for tp in consumer.assignment())
    if now != assigned:
        assigned = now
        say(event="assigned", partitions=now)
    for tp, messages in polled.items():
        for m in messages:
            consumer.commit({tp: OffsetAndMetadata(m.offset + 1, None)})
            say(event="message", partition=m.partition, offset=m.offset, value=m.value.decode())
consumer.close()
say(event="closed")
`;

// Admin calls: one JSON object in, one JSON line out.
const ADMIN = `
import json, sys
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
bootstrap, action = sys.argv[1:3]
spec = json.load(sys.stdin)
admin = KafkaAdminClient(bootstrap_servers=bootstrap)
if action == "create":
    result = admin.create_topics([NewTopic(spec["topic"], spec["partitions"], 1)])
    print(json.dumps([list(e) for e in result.topic_errors]))
elif action == "delete":
    result = admin.delete_topics([spec["topic"]])
    print(json.dumps([list(e) for e in result.topic_error_codes]))
elif action == "describe":
    print(json.dumps(admin.describe_topics([spec["topic"]])))
elif action == "list":
    print(json.dumps(admin.list_topics()))
elif action == "list-groups":
    print(json.dumps([list(g) for g in admin.list_consumer_groups()]))
elif action == "describe-groups":
    described = []
    for g in admin.describe_consumer_groups(spec["groups"]):
        members = [{"client_id": m.client_id, "client_host": m.client_host,
                    "partitions": sorted(p for _, ps in m.member_assignment.assignment for p in ps) if m.member_assignment else []}
                   for m in g.members]
        described.append({"group": g.group, "state": g.state, "protocol_type": g.protocol_type, "protocol": g.protocol,
                          "members": sorted(members, key=lambda m: m["client_id"])})
    print(json.dumps(described))
elif action == "delete-groups":
    print(json.dumps([[g, error.__name__] for g, error in admin.delete_consumer_groups(spec["groups"])]))
elif action == "group-offsets":
    offsets = admin.list_consumer_group_offsets(spec["group"])
    print(json.dumps({"%s/%d" % (tp.topic, tp.partition): o.offset for tp, o in offsets.items()}))
admin.close()
`;

type MemberEvent = { name: string; event: string; partitions?: number[]; partition?: number; offset?: number; value?: string };

class Member {
  readonly events: MemberEvent[] = [];
  private readonly child: ChildProcess;
  private stderr = "";
  private readonly stopFile: string;
  readonly exited: Promise<number | null>;

  constructor(topic: string, group: string, readonly name: string) {
    this.stopFile = join(tmpdir(), `koper-member-${process.pid}-${name}`);
    rmSync(this.stopFile, { force: true });
    this.child = spawn(PYTHON, [memberScript, broker.brokers[0]!, topic, group, name, this.stopFile], { stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") this.events.push(JSON.parse(line) as MemberEvent);
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on("close", resolve));
  }

  get assigned(): number[] {
    return this.events.filter((e) => e.event === "assigned").at(-1)?.partitions ?? [];
  }

  get values(): string[] {
    return this.events.filter((e) => e.event === "message").map((e) => e.value!);
  }

  /** Graceful stop: the member leaves the group (LeaveGroup) and exits. */
  async stop(): Promise<void> {
    writeFileSync(this.stopFile, "");
    const code = await this.exited;
    rmSync(this.stopFile, { force: true });
    if (code !== 0) throw new Error(`member ${this.name} exited with ${code}: ${this.stderr}`);
  }

  /** A crash: no LeaveGroup, so the broker must notice by the session timeout. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

let broker: Broker;
let memberScript: string;
let adminScript: string;
const members: Member[] = [];
beforeAll(async () => {
  broker = await startBroker({ port: 0 });
  memberScript = join(tmpdir(), `koper-kafka-python-member-${process.pid}.py`);
  adminScript = join(tmpdir(), `koper-kafka-python-admin-${process.pid}.py`);
  writeFileSync(memberScript, MEMBER);
  writeFileSync(adminScript, ADMIN);
});
afterAll(async () => {
  await Promise.all(members.map((m) => m.kill()));
  await broker.stop();
  rmSync(memberScript, { force: true });
  rmSync(adminScript, { force: true });
});

function member(topic: string, group: string, name: string): Member {
  const m = new Member(topic, group, name);
  members.push(m);
  return m;
}

async function admin(action: string, spec: Record<string, unknown> = {}): Promise<unknown> {
  const result = await run(PYTHON, [adminScript, broker.brokers[0]!, action], JSON.stringify(spec), 30_000);
  if (result.code !== 0) throw new Error(`kafka-python admin ${action} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").pop()!);
}

async function produce(topic: string, prefix: string, count: number): Promise<void> {
  const producer = producerFor(kafkaFor(broker.brokers));
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `${prefix}-${i}`, value: `${prefix}-${i}` })) });
  await producer.disconnect();
}

function committedTotal(group: string): number {
  return [...broker.committedOffsets(group).values()].reduce((sum, offset) => sum + offset, 0);
}

describe.skipIf(!available)("kafka-python 2.0.2 consumer groups and admin", () => {
  it("shares partitions among 3 members that join, leave and crash, each message consumed once", async () => {
    const topic = uniqueName("py-members");
    const group = uniqueName("g");
    broker.createTopic(topic, 6);
    await produce(topic, "a", 30);
    const one = member(topic, group, "one");
    await until(() => one.assigned.length === 6 && one.values.length === 30, "the first member to own all 6 partitions and read 30");
    const two = member(topic, group, "two");
    await until(() => one.assigned.length === 3 && two.assigned.length === 3, "3 partitions each");
    const three = member(topic, group, "three");
    await until(() => [one, two, three].every((m) => m.assigned.length === 2), "2 partitions each");
    expect([...one.assigned, ...two.assigned, ...three.assigned].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await admin("list-groups")).toContainEqual([group, "consumer"]);
    const [described, unknown] = (await admin("describe-groups", { groups: [group, uniqueName("none")] })) as Array<{
      state: string;
      protocol_type: string;
      protocol: string;
      members: Array<{ client_id: string; client_host: string; partitions: number[] }>;
    }>;
    expect(described).toMatchObject({ state: "Stable", protocol_type: "consumer", protocol: "range" });
    expect(described!.members.map((m) => [m.client_id, m.client_host, m.partitions])).toEqual(
      [one, three, two].map((m) => [m.name, "/127.0.0.1", m.assigned]),
    );
    expect(unknown).toMatchObject({ state: "Dead", members: [] });
    await produce(topic, "b", 30);
    await until(() => committedTotal(group) === 60, "60 commits");

    await two.stop();
    await until(() => one.assigned.length === 3 && three.assigned.length === 3, "the two left to share 6 partitions");
    await produce(topic, "c", 30);
    await until(() => committedTotal(group) === 90, "90 commits");

    await three.kill();
    await until(() => one.assigned.length === 6, "the crashed member's partitions to move after its session timeout");
    await produce(topic, "d", 30);
    await until(() => committedTotal(group) === 120, "120 commits");

    // The crashed member comes back: it resumes from the group's committed offsets.
    const back = member(topic, group, "three-again");
    await until(() => one.assigned.length === 3 && back.assigned.length === 3, "the restarted member to rejoin");
    await produce(topic, "e", 30);
    await until(() => committedTotal(group) === 150, "150 commits");
    await Promise.all([one.stop(), back.stop()]);

    const seen = [one, two, three, back].flatMap((m) => m.values).sort();
    const expected = ["a", "b", "c", "d", "e"].flatMap((p) => Array.from({ length: 30 }, (_, i) => `${p}-${i}`)).sort();
    expect(seen).toEqual(expected);
    expect(back.values.some((v) => v.startsWith("e-"))).toBe(true);
    expect(broker.state.groups.get(group)?.members.size).toBe(0);
  }, 120_000);

  it("creates, describes and deletes topics and groups; a topic deleted and created again starts with no committed offsets", async () => {
    const topic = uniqueName("py-admin");
    const group = uniqueName("g");
    expect(await admin("create", { topic, partitions: 2 })).toEqual([[topic, 0, null]]);
    const [described] = (await admin("describe", { topic })) as Array<{ topic: string; error_code: number; partitions: Array<{ partition: number; leader: number }> }>;
    expect(described).toMatchObject({ topic, error_code: 0 });
    expect(described!.partitions.map((p) => [p.partition, p.leader]).sort()).toEqual([[0, 1], [1, 1]]);
    await produce(topic, "old", 10);
    const reader = member(topic, group, "reader");
    await until(() => committedTotal(group) === 10, "10 commits");
    await reader.stop();
    expect(Object.values((await admin("group-offsets", { group })) as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(10);

    expect(await admin("delete", { topic })).toEqual([[topic, 0]]);
    expect(await admin("list")).not.toContain(topic);
    // Kafka drops a deleted topic's committed offsets (GroupCoordinator.handleDeletedPartitions).
    expect(await admin("group-offsets", { group })).toEqual({});
    expect(await admin("create", { topic, partitions: 2 })).toEqual([[topic, 0, null]]);
    await produce(topic, "new", 20);
    const again = member(topic, group, "reader-again");
    await until(() => committedTotal(group) === 20, "20 commits on the new topic");
    const unknown = uniqueName("none");
    expect(await admin("delete-groups", { groups: [group] })).toEqual([[group, "NonEmptyGroupError"]]);
    await again.stop();
    expect(again.values.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `new-${i}`).sort());

    expect(await admin("delete-groups", { groups: [group, unknown] })).toEqual([[group, "NoError"], [unknown, "GroupIdNotFoundError"]]);
    expect(await admin("group-offsets", { group })).toEqual({});
    expect(broker.state.groups.has(group)).toBe(false);
  }, 90_000);
});
