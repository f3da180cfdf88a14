// SIGKILL at seeded random points: child processes write rows through each ORM in outbox mode on
// PostgreSQL (their relays publishing to a real broker) and are killed during writes, between
// COMMIT and publish, or while publishing. A fresh relay then drains what is left. The events that
// reached the broker are exactly the committed rows: nothing lost, nothing phantom, every key in order.
// Replay a failure with OUTBOX_CRASH_SEED=<the seed it printed>.
import { readFileSync } from "node:fs";
import { ensureOutboxTable, type DataEvent, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { koperFor, spawnFixture, uniqueName, until, type Child } from "../kafka/support.ts";
import { pgSqlClient } from "../support/sql-clients.ts";
import { brokerEvents, ownSchema } from "./support.ts";

const ROUNDS = 5;
const CHILDREN_PER_ROUND = 4; // 20 kill points per ORM
const seed = Number(process.env.OUTBOX_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

// mulberry32: a seeded generator, so a failing sequence of kill points can be replayed.
function random(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const migration = readFileSync(new URL("../prisma/postgres/migration.sql", import.meta.url), "utf8")
  .split(/;\s*\n/)
  .map((s) => s.trim())
  .filter(Boolean);

describe.each(["typeorm", "mikro-orm", "prisma"] as const)("outbox crash test: %s on PostgreSQL", (orm) => {
  let broker: Broker;
  let admin: pg.Client;
  let schema: string;
  const kopers: Koper[] = [];
  const children: Child[] = [];
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    broker = await startBroker({ port: 0 });
    ({ schema, admin } = await ownSchema(`koper_crash_${orm}`, cleanup));
    await admin.query(`SET search_path TO "${schema}"`);
    for (const statement of migration) await admin.query(statement);
  });

  afterAll(async () => {
    for (const child of children) child.process.kill("SIGKILL");
    await Promise.allSettled(kopers.map((k) => k.stop()));
    await broker?.stop();
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });

  it(`${ROUNDS * CHILDREN_PER_ROUND} kill points (seed ${seed}): the broker holds exactly the committed rows' events, in order per key`, { timeout: 240_000 }, async () => {
    const next = random(seed + orm.length);
    const prefix = uniqueName("crash");
    const table = `${schema}.koper_outbox`;
    const client = pgSqlClient({});
    await ensureOutboxTable(client, { table });
    let killed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const batch = Array.from({ length: CHILDREN_PER_ROUND }, (_, c) => {
        const child = spawnFixture("outbox-crash-writer.ts", { ORM: orm, SCHEMA: schema, BROKERS: broker.brokers.join(","), PREFIX: prefix, RUN: `r${round}c${c}` });
        children.push(child);
        return { child, delay: Math.floor(next() * 1200) };
      });
      await Promise.all(batch.map(async ({ child, delay }) => {
        // The delay starts at the writer's first commit (its hot rows), so every kill point falls
        // among writes and publishes, whatever the load on the machine.
        await until(() => child.lines.includes("committed 0"), `a ${orm} writer's first commit`, 90_000);
        await new Promise((resolve) => setTimeout(resolve, delay));
        child.process.kill("SIGKILL");
        expect(await child.exited).toBe("SIGKILL");
        killed++;
      }));
    }
    expect(killed).toBe(ROUNDS * CHILDREN_PER_ROUND);
    const topic = `${prefix}.Order`;
    const publishedByChildren = brokerEvents(broker, topic).flat().length;
    const leftInOutbox = (await client.query(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n as number;

    // A fresh process's relay publishes what the dead ones left.
    const relay = koperFor(broker.brokers, { topics: { prefix }, kafka: { partitions: 3 }, outbox: { client, table, relay: false } });
    kopers.push(relay);
    await relay.relay!.drain();
    await client.end();

    const rows = (await admin.query(`SELECT number, qty FROM "${schema}".orders`)).rows as { number: string; qty: number }[];
    const expected: string[] = [];
    for (const row of rows) {
      const hot = /^(r\d+c\d+)-hot-\d$/.exec(row.number);
      if (hot) {
        expected.push(`insert ${row.number} 0`);
        continue;
      }
      const [, run, i] = /^(r\d+c\d+)-(\d+)$/.exec(row.number)!;
      expected.push(`insert ${row.number} ${i}`, `update ${run}-hot-${Number(i) % 3} ${i}`);
    }
    const seen = new Set<string>();
    const delivered: string[] = [];
    const perKey = new Map<string, number[]>();
    for (const partition of brokerEvents(broker, topic)) {
      for (const event of partition as DataEvent<{ number: string; qty: number }>[]) {
        if (seen.has(event.id)) continue; // a redelivery after a crash while publishing: at-least-once
        seen.add(event.id);
        delivered.push(`${event.action} ${event.data!.number} ${event.data!.qty}`);
        const key = JSON.stringify(event.key);
        perKey.set(key, [...(perKey.get(key) ?? []), event.data!.qty]);
      }
    }
    expect(rows.length).toBeGreaterThanOrEqual(3 * ROUNDS * CHILDREN_PER_ROUND); // every writer's hot rows
    expect(delivered.sort()).toEqual(expected.sort()); // nothing lost, nothing phantom
    for (const [key, qtys] of perKey) expect(qtys, `key ${key} (seed ${seed})`).toEqual([...qtys].sort((a, b) => a - b));
    // The killed writers' relays had published while they lived; the fresh relay left nothing behind.
    expect(publishedByChildren).toBeGreaterThan(0);
    expect(await pendingAfter(admin, schema)).toBe(0);
    console.log(`[outbox crash ${orm}] seed ${seed}: ${rows.length} rows, ${delivered.length} events, ${publishedByChildren} published by the killed writers, ${leftInOutbox} left in the outbox`);
  });
});

async function pendingAfter(admin: pg.Client, schema: string): Promise<number> {
  return ((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".koper_outbox`)).rows[0] as { n: number }).n;
}
