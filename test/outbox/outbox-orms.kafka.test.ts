// The multi-relay and broker-outage guarantees with the rows written through the ORMs themselves
// (their outbox writers, their transactions): two relays on one outbox publish each event exactly
// once, in commit order per key, on PostgreSQL (TypeORM, MikroORM, Prisma) and MariaDB (TypeORM);
// a broker outage longer than every producer timeout loses nothing (MikroORM, Prisma).
import "reflect-metadata";
import type { KoperOptions } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, describe, expect, it } from "vitest";
import type { AdapterHarness, HarnessFactory } from "../contract/harness.ts";
import { koperFor, uniqueName, until } from "../kafka/support.ts";
import { mikroHarness } from "../mikro-orm/harness.ts";
import { database as mikroDatabase } from "../mikro-orm/databases.ts";
import { prismaHarness } from "../prisma/harness.ts";
import { prismaDatabase } from "../prisma/databases.ts";
import { typeormHarness } from "../typeorm/harness.ts";
import { database as typeormDatabase } from "../typeorm/databases.ts";
import { brokerEvents, firstArrivals, ormOutboxWriter } from "./support.ts";

type Orm = [string, () => Promise<HarnessFactory>];
const typeorm = (db: "postgres" | "mariadb"): Orm => [`TypeORM on ${db}`, async () => typeormHarness(await typeormDatabase(db))];
const mikro: Orm = ["MikroORM on postgres", async () => mikroHarness(await mikroDatabase("postgres"))];
const prisma: Orm = ["Prisma on postgres", async () => prismaHarness(await prismaDatabase("postgres"))];

const KEYS = 20;
const PER_TRANSACTION = 5;

/** One ORM with the outbox on a table of its own; the writer's relay is off, the test's relays run. */
function ormOutbox() {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });
  return {
    cleanup,
    async open(factory: HarnessFactory) {
      const prefix = uniqueName("orm-relays");
      const { writer, db, table } = await ormOutboxWriter(factory, cleanup, { topics: { prefix } });
      const ids = await orders(db);
      const pending = async () => (await db.sqlClient.query(`SELECT id FROM ${table}`)).length;
      return { writer, db, table, prefix, ids, pending, write: updates(db, ids) };
    },
    relay(brokers: string[], options: KoperOptions & { kafka?: object }) {
      const koper = koperFor(brokers, options);
      cleanup.push(() => koper.stop());
      return koper;
    },
  };
}

// KEYS orders inserted in one transaction (qty 0): their first events.
async function orders(db: AdapterHarness): Promise<number[]> {
  const ids: number[] = [];
  await db.transaction(async (tx) => {
    for (let k = 0; k < KEYS; k++) ids.push((await tx.insertOrder({ number: `K-${k}-${Math.random().toString(36).slice(2, 8)}`, qty: 0 })).id);
  });
  return ids;
}

// Transactions of PER_TRANSACTION updates through the ORM, each setting an order's qty to its next
// value: per key, the events' qty must arrive as 0, 1, 2, …
function updates(db: AdapterHarness, ids: number[]) {
  const qty = new Map<number, number>(ids.map((id) => [id, 0]));
  let t = 0;
  return async (transactions: number) => {
    for (const end = t + transactions; t < end; t++) {
      await db.transaction(async (tx) => {
        for (let i = 0; i < PER_TRANSACTION; i++) {
          const id = ids[(t * 7 + i * 3) % ids.length]!;
          const next = qty.get(id)! + 1;
          qty.set(id, next);
          await tx.updateOrder(id, { qty: next });
        }
      });
    }
  };
}

function checkArrivals(broker: Broker, topic: string, total: number, exactlyOnce: boolean) {
  const { byId, copies, perKey } = firstArrivals(brokerEvents(broker, topic), "qty");
  if (exactlyOnce) expect(copies).toBe(total);
  expect(byId.size).toBe(total);
  expect(perKey.size).toBe(KEYS);
  for (const [key, values] of perKey) expect(values, key).toEqual(values.map((_, i) => i));
}

describe.each([typeorm("postgres"), mikro, prisma, typeorm("mariadb")])("outbox: two relays on one outbox written through %s", (_name, factory) => {
  const outbox = ormOutbox();

  it("publish each event exactly once, every key in commit order", { timeout: 120_000 }, async () => {
    const broker = await startBroker({ port: 0 });
    outbox.cleanup.push(() => broker.stop()); // last: the relays stop (and drain) while it still runs
    const { writer, db, table, prefix, pending, write } = await outbox.open(await factory());
    await write(20); // waiting when the relays start; the rest is written while they run
    for (let r = 0; r < 2; r++) {
      await outbox.relay(broker.brokers, { topics: { prefix }, kafka: { partitions: 4 }, outbox: { client: db.sqlClient, table, batchSize: 15, pollIntervalMs: 20 } }).start();
    }
    await write(20);
    const total = KEYS + 40 * PER_TRANSACTION;
    const topic = writer.topicFor("Order");
    const held = () => brokerEvents(broker, topic).reduce((n, p) => n + p.length, 0);
    await until(async () => held() >= total && (await pending()) === 0, () => `${total} events on the broker (got ${held()})`, 90_000);
    checkArrivals(broker, topic, total, true);
  });
});

describe.each([mikro, prisma])("outbox: broker outage, rows written through %s", (_name, factory) => {
  const outbox = ormOutbox();
  const brokers: Broker[] = [];

  it("loses nothing and keeps each key's order while the broker is down for longer than the producer retries", { timeout: 120_000 }, async () => {
    // Last: the relays stop (and drain) while the broker still runs.
    outbox.cleanup.push(async () => void (await Promise.allSettled(brokers.splice(0).map((b) => b.stop()))));
    const first = await startBroker({ port: 0 });
    brokers.push(first);
    const { writer, db, table, prefix, pending, write } = await outbox.open(await factory());
    let failedRounds = 0;
    const relay = outbox.relay(first.brokers, {
      topics: { prefix },
      // The producer gives up on a send within about a second: the outage outlasts it many times.
      kafka: { partitions: 3, retry: { initialRetryTime: 50, maxRetryTime: 200, retries: 2 }, requestTimeout: 500, connectionTimeout: 300 },
      outbox: { client: db.sqlClient, table, backoffMs: 50, maxBackoffMs: 400, pollIntervalMs: 50, onError: () => void failedRounds++ },
    });
    await relay.start();
    const topic = writer.topicFor("Order");
    const held = (broker: Broker) => brokerEvents(broker, topic).reduce((n, p) => n + p.length, 0);

    await write(10);
    await until(() => held(first) >= KEYS + 50, () => `the first events (got ${held(first)})`, 30_000);
    await first.stop();
    const beforeOutage = failedRounds;
    await write(20); // committed while no broker listens; the relay fails round after round
    await until(() => failedRounds >= beforeOutage + 4, () => `four failed relay rounds during the outage (got ${failedRounds - beforeOutage})`, 60_000);
    await write(10);
    expect(await pending()).toBeGreaterThanOrEqual(30 * PER_TRANSACTION);

    const second = await startBroker({ port: first.port, state: first.state });
    brokers.push(second);
    await write(10);
    await until(async () => (await pending()) === 0, "the outbox to drain after the restart", 60_000);
    checkArrivals(second, topic, KEYS + 50 * PER_TRANSACTION, false);
  });
});
