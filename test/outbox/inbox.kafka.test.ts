// The durable inbox: a consumer killed after its handler's transaction committed, before the
// offset commit, gets the event again after restart; the inbox row (committed with the effect)
// makes the new member skip it, so the effect is applied once.
import { dataListener, inboxTransaction, SqlInboxStore, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, describe, expect, it } from "vitest";
import { koperFor, spawnFixture, uniqueName, until, type Child } from "../kafka/support.ts";
import { pgSqlClient } from "../support/sql-clients.ts";
import { ownSchema } from "./support.ts";

describe("inbox: a consumer killed between its handler's commit and the offset commit", () => {
  let broker: Broker | undefined;
  let child: Child | undefined;
  const kopers: Koper[] = [];
  const cleanup: (() => Promise<void>)[] = [];

  afterEach(async () => {
    child?.process.kill("SIGKILL");
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await broker?.stop();
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });

  it("does not apply the effect twice after restart", { timeout: 90_000 }, async () => {
    const { schema, admin } = await ownSchema("koper_inbox", cleanup);
    await admin.query(`CREATE TABLE "${schema}".effects (event_id VARCHAR(64) NOT NULL)`);
    const client = pgSqlClient({ options: `-c search_path=${schema}` });
    cleanup.push(() => client.end());
    const inbox = new SqlInboxStore(client);
    await inbox.ensureTable();

    broker = await startBroker({ port: 0 });
    const prefix = uniqueName("inbox");
    const group = uniqueName("g");
    const publisher = koperFor(broker.brokers, { topics: { prefix } });
    kopers.push(publisher);
    const count = 10;
    const tx = {};
    publisher.capture.begin(tx);
    for (let id = 0; id < count; id++) await publisher.capture.record(tx, { entity: "Order", action: "insert", key: { id }, data: { id }, source: { orm: "test" } });
    await publisher.capture.commit(tx);
    await publisher.stop();

    child = spawnFixture("inbox-consumer.ts", { BROKERS: broker.brokers.join(","), PREFIX: prefix, GROUP: group, SCHEMA: schema, KILL_AFTER_FIRST: "1" });
    expect(await child.exited).toBe("SIGKILL");
    const first = child.lines.find((line) => line.startsWith("handled "))!.slice(8);
    const effects = async () => (await admin.query(`SELECT event_id FROM "${schema}".effects`)).rows.map((r: { event_id: string }) => r.event_id);
    expect(await effects()).toEqual([first]); // committed with its inbox row, then the process died
    expect(broker.committedOffsets(group).size).toBe(0); // before any offset commit

    const survivor = koperFor(broker.brokers, { topics: { prefix }, kafka: { fromBeginning: true } });
    kopers.push(survivor);
    const seen: string[] = [];
    survivor.register(dataListener()({
      entity: "Order",
      group,
      inbox: { store: inbox },
      onInsertOrder: async (_order, event) => {
        seen.push(event.id);
        await inboxTransaction().query("INSERT INTO effects (event_id) VALUES ($1)", [event.id]);
      },
    }));
    await survivor.start();
    let got = 0;
    await until(async () => (got = (await effects()).length) >= count && survivor.metrics().deduplicated >= 1, () => `all ${count} effects (got ${got})`, 60_000);
    const applied = await effects();
    expect(applied.length).toBe(count);
    expect(new Set(applied).size).toBe(count); // each effect once
    expect(seen).not.toContain(first); // redelivered, and skipped by the inbox
    expect(survivor.metrics().deduplicated).toBe(1);
  });
});
