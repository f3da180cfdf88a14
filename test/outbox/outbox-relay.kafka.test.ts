// What the relay hands the transport, on a PostgreSQL outbox: the event as it was written (Dates,
// bigints and bytes included) in process and through Kafka, and a row that is no envelope goes to
// the dead letter instead of blocking the rows behind it.
import { dataListener, deadLetterTopic, ensureOutboxTable, Koper, type DataEvent, type KoperOptions } from "@koper/core";
import { afterEach, describe, expect, it } from "vitest";
import { brokerPerTest, koperFor, uniqueName, until } from "../kafka/support.ts";
import { pgSqlClient } from "../support/sql-clients.ts";
import { ownSchema, writeTransaction } from "./support.ts";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function outboxSchema() {
  const { schema } = await ownSchema("koper_relay", cleanup);
  const client = pgSqlClient({ options: `-c search_path=${schema}` });
  cleanup.push(() => client.end());
  await ensureOutboxTable(client);
  return client;
}

const AT = new Date("2026-12-01T10:00:00.000Z");

// A writer (relay off) and a relay Koper with one data listener, recording what it dead-letters.
async function relayWith(transport: Pick<KoperOptions, "transport"> | ((o: Partial<KoperOptions>) => Koper), client: ReturnType<typeof pgSqlClient>) {
  const prefix = uniqueName("relay");
  const writer = new Koper({ topics: { prefix }, outbox: { client, relay: false } });
  const options: Partial<KoperOptions> = { topics: { prefix }, outbox: { client, pollIntervalMs: 20 } };
  const relay = typeof transport === "function" ? transport(options) : new Koper({ ...options, ...transport });
  const handled: DataEvent[] = [];
  const dead: { reason: string; deadLetterTopic: string }[] = [];
  relay.register(dataListener()({ entity: "Account", group: uniqueName("g"), onUpdateAccount: (_row, event) => void handled.push(event) }));
  relay.on("dead_lettered", (event) => void dead.push(event.payload));
  cleanup.push(() => writer.stop());
  cleanup.push(() => relay.stop());
  return { writer, relay, handled, dead };
}

describe("outbox relay: what reaches the transport", () => {
  const kafka = brokerPerTest();

  it.each(["in-process", "kafka"] as const)("an event's Dates, bigints and bytes arrive as they were written (%s)", { timeout: 60_000 }, async (name) => {
    const client = await outboxSchema();
    const { writer, relay, handled } = await relayWith(name === "kafka" ? (o) => koperFor(kafka.broker.brokers, { ...o, kafka: { partitions: 1 } }) : {}, client);
    if (name === "kafka") kafka.kopers.push(relay);
    await writeTransaction(writer, client, [{ key: 1, seq: 1, at: AT, big: 2n ** 60n, bytes: Buffer.from([1, 2, 3]) }]);
    await relay.start();
    await until(() => handled.length === 1, "the event to be handled", 30_000);
    const data = handled[0]!.data as { at: unknown; big: unknown; bytes: unknown };
    expect(data.at).toEqual(AT);
    expect(data.big).toBe(2n ** 60n);
    expect(Buffer.from(data.bytes as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
    expect(handled[0]!.time.published).toBeGreaterThanOrEqual(handled[0]!.time.committed!);
  });

  it("a row that is not an envelope goes to the dead letter, and the rows behind it are published", { timeout: 60_000 }, async () => {
    const client = await outboxSchema();
    const { writer, relay, handled, dead } = await relayWith({}, client);
    await writeTransaction(writer, client, [{ key: 1, seq: 1 }]);
    await writeTransaction(writer, client, [{ key: 2, seq: 1 }]);
    await writeTransaction(writer, client, [{ key: 3, seq: 1 }]);
    await client.query("UPDATE koper_outbox SET payload = '{\"specVersion\": 1, broken' WHERE id = (SELECT min(id) + 1 FROM koper_outbox)");
    await relay.start();
    await until(() => handled.length === 2 && dead.length === 1, () => `two events handled and one dead letter (got ${handled.length} and ${dead.length})`, 30_000);
    expect(handled.map((e) => (e.data as { id: number }).id)).toEqual([1, 3]);
    expect(dead[0]!.deadLetterTopic).toBe(deadLetterTopic(writer.topicFor("Account")));
    expect(dead[0]!.reason).toMatch(/JSON/);
    await until(async () => (await client.query("SELECT id FROM koper_outbox")).length === 0, "the outbox to be empty", 10_000);
  });
});
