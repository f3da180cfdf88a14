// LISTEN/NOTIFY on PostgreSQL for every ORM: a relay in another Koper (as in a relay process) that
// polls only every 10 minutes publishes an event written through the ORM at once, so only the
// NOTIFY of the writer's COMMIT can have woken it.
import "reflect-metadata";
import { dataListener, Koper, listenOnPool, type DataEvent } from "@koper/core";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { HarnessFactory } from "../contract/harness.ts";
import { until } from "../kafka/support.ts";
import { SERVERS } from "../support/servers.ts";
import { ormOutboxWriter } from "./support.ts";
import { mikroHarness } from "../mikro-orm/harness.ts";
import { database as mikroDatabase } from "../mikro-orm/databases.ts";
import { prismaHarness } from "../prisma/harness.ts";
import { prismaDatabase } from "../prisma/databases.ts";
import { typeormHarness } from "../typeorm/harness.ts";
import { database as typeormDatabase } from "../typeorm/databases.ts";

const POLL_MS = 600_000;

const orms: [string, () => Promise<HarnessFactory>][] = [
  ["TypeORM", async () => typeormHarness(await typeormDatabase("postgres"))],
  ["MikroORM", async () => mikroHarness(await mikroDatabase("postgres"))],
  ["Prisma", async () => prismaHarness(await prismaDatabase("postgres"))],
];

describe.each(orms)("outbox on PostgreSQL through %s: the relay wakes on NOTIFY", (_name, factory) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });

  it("publishes a committed write long before its next poll", { timeout: 60_000 }, async () => {
    const { db, table } = await ormOutboxWriter(await factory(), cleanup);

    const relay = new Koper({ outbox: { client: db.sqlClient, table, pollIntervalMs: POLL_MS } });
    const handled: DataEvent[] = [];
    relay.register(dataListener()({ entity: "Order", onInsertOrder: (_order, event) => void handled.push(event) }));
    await relay.start(); // its first round finds the outbox empty; the next poll is 10 minutes away
    cleanup.push(() => relay.stop());

    await db.insertOrder({ number: "N-1", qty: 1 });
    await db.transaction(async (tx) => {
      await tx.insertOrder({ number: "N-2", qty: 2 });
      await tx.insertOrder({ number: "N-3", qty: 3 });
    });
    await until(() => handled.length === 3, () => `three events relayed on NOTIFY (got ${handled.length})`, 20_000);
    expect(handled.map((e) => (e.data as { number: string }).number)).toEqual(["N-1", "N-2", "N-3"]);
  });

  it("reports a killed LISTEN connection on its logger, listens again, and a later commit's NOTIFY wakes it", { timeout: 60_000 }, async () => {
    const { db, table } = await ormOutboxWriter(await factory(), cleanup);
    // The adapter's own listen, counting what reaches the relay through it.
    let channel = "";
    let wakes = 0;
    const client = {
      ...db.sqlClient,
      listen: (name: string, onNotify: () => void, onError?: (error: unknown) => void) => {
        channel = name;
        return db.sqlClient.listen!(name, () => void (wakes++, onNotify()), onError);
      },
    };
    const warnings: string[] = [];
    const logger = { warn: (message: unknown) => void warnings.push(String(message)), error: () => {} };
    const relay = new Koper({ logger, outbox: { client, table, pollIntervalMs: POLL_MS } });
    const handled: DataEvent[] = [];
    relay.register(dataListener()({ entity: "Order", onInsertOrder: (_order, event) => void handled.push(event) }));
    await relay.start();
    cleanup.push(() => relay.stop());

    const backend = async () =>
      (await db.sqlClient.query("SELECT pid FROM pg_stat_activity WHERE query = $1", [`LISTEN "${channel}"`]))[0]?.pid as number | undefined;
    const first = await backend();
    expect(first).toBeDefined();
    await db.sqlClient.query("SELECT pg_terminate_backend($1)", [first]);
    await until(() => warnings.some((w) => w.includes(`LISTEN connection on "${channel}" failed`)), () => `the broken LISTEN reported (warnings: ${warnings.join(" | ")})`, 20_000);
    await until(async () => wakes > 0 && ![undefined, first].includes(await backend()), "a new LISTEN connection, and the wake-up it gives", 20_000);

    const before = wakes;
    await db.insertOrder({ number: "N-1", qty: 1 });
    await until(() => handled.length === 1 && wakes > before, () => `the commit's NOTIFY on the new connection (wakes ${wakes}, handled ${handled.length})`, 20_000);
    expect((handled[0].data as { number: string }).number).toBe("N-1");
  });
});

describe("listenOnPool", () => {
  it("listens again when its connection is killed, and says so by waking the relay", { timeout: 60_000 }, async () => {
    const pool = new pg.Pool({ ...SERVERS.postgres, max: 2 });
    const channel = `koper_listen_${Math.random().toString(36).slice(2, 10)}`;
    let wakes = 0;
    const errors: unknown[] = [];
    const unlisten = await listenOnPool(pool, channel, () => void wakes++, { retryMs: 50, onError: (error) => void errors.push(error) });
    try {
      const backend = async () =>
        (await pool.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query = $1", [`LISTEN "${channel}"`])).rows[0]?.pid;
      const first = await backend();
      expect(first).toBeDefined();
      await pool.query("SELECT pg_terminate_backend($1)", [first]);
      await until(async () => errors.length > 0 && (await backend()) !== undefined, "a new LISTEN connection", 20_000);
      const afterReconnect = wakes;
      expect(afterReconnect).toBeGreaterThanOrEqual(1); // the wake-up for what may have committed meanwhile
      await pool.query(`SELECT pg_notify($1, '')`, [channel]);
      await until(() => wakes > afterReconnect, "the NOTIFY on the new connection", 20_000);
    } finally {
      await unlisten();
      await pool.end();
    }
  });
});
