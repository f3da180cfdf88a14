import { ensureAuditTable, ensureOutboxTable, Koper, type DataEvent, type SqlClient } from "@koper/core";
import { sqlClientOf } from "@koper/prisma";
import { afterEach, describe, expect, it } from "vitest";
import type { Client, PrismaDatabase } from "./databases.ts";
import { extend, type Extended } from "./harness.ts";
import { num } from "./setup.ts";

type Writer = "outbox" | "audit";
type Dialect = PrismaDatabase["name"];

/** Rows a shape's write works on, seeded through the base client (never captured). */
interface Seeded {
  number: string;
  other: string;
}

/** One Prisma write shape whose writer rows must commit, or roll back, with its data. */
interface Shape {
  name: string;
  /** The entity whose writer row the failing-writer test refuses (default Order). */
  refuse?: string;
  /** Databases where Prisma has no such call. */
  not?: Dialect[];
  write(prisma: Extended, seeded: Seeded, dialect: Dialect): Promise<unknown>;
}

const q = (dialect: Dialect, name: string) => (dialect === "mariadb" ? `\`${name}\`` : `"${name}"`);
const p = (dialect: Dialect, i: number) => (dialect === "postgres" ? `$${i}` : "?");
const lines = () => ({ create: [{ sku: `L-${num()}`, qty: 1 }, { sku: `L-${num()}`, qty: 2 }] });

const SHAPES: Shape[] = [
  { name: "create", write: (prisma) => prisma.order.create({ data: { number: num(), qty: 1 } }) },
  { name: "create with nested lines (autocommit, several rows)", refuse: "OrderLine", write: (prisma) => prisma.order.create({ data: { number: num(), qty: 1, lines: lines() } }) },
  { name: "createMany", write: (prisma) => prisma.order.createMany({ data: [{ number: num(), qty: 1 }, { number: num(), qty: 2 }] }) },
  { name: "createManyAndReturn", not: ["mariadb"], write: (prisma) => prisma.order.createManyAndReturn({ data: [{ number: num(), qty: 1 }, { number: num(), qty: 2 }] }) },
  { name: "update", write: (prisma, s) => prisma.order.update({ where: { number: s.number }, data: { qty: 5 } }) },
  { name: "updateMany", write: (prisma, s) => prisma.order.updateMany({ where: { number: { in: [s.number, s.other] } }, data: { note: "bulk" } }) },
  { name: "updateManyAndReturn", not: ["mariadb"], write: (prisma, s) => prisma.order.updateManyAndReturn({ where: { number: s.number }, data: { qty: 6 } }) },
  { name: "upsert that inserts", write: (prisma) => prisma.order.upsert({ where: { number: num() }, create: { number: num(), qty: 1 }, update: { qty: 2 } }) },
  { name: "upsert that updates", write: (prisma, s) => prisma.order.upsert({ where: { number: s.number }, create: { number: s.number, qty: 1 }, update: { qty: 7 } }) },
  { name: "delete", write: (prisma, s) => prisma.order.delete({ where: { number: s.number } }) },
  { name: "deleteMany", write: (prisma, s) => prisma.order.deleteMany({ where: { number: { in: [s.number, s.other] } } }) },
  {
    name: "$executeRaw (autocommit)",
    write: (prisma, s, d) => prisma.$executeRaw`UPDATE orders SET qty = ${8} WHERE number = ${s.number}`.then(expectCount(d)),
  },
  {
    name: "$executeRawUnsafe (autocommit)",
    write: (prisma, s, d) => prisma.$executeRawUnsafe(`DELETE FROM ${q(d, "orders")} WHERE ${q(d, "number")} = ${p(d, 1)}`, s.number).then(expectCount(d)),
  },
  {
    name: "batch $transaction([...])",
    write: (prisma, s) => prisma.$transaction([prisma.order.create({ data: { number: num(), qty: 1 } }), prisma.order.update({ where: { number: s.number }, data: { qty: 9 } })]),
  },
  {
    name: "batch $transaction([...]) with a nested create (refused on its lines)",
    refuse: "OrderLine",
    write: (prisma, s) => prisma.$transaction([prisma.order.update({ where: { number: s.number }, data: { qty: 3 } }), prisma.order.create({ data: { number: num(), qty: 1, lines: lines() } })]),
  },
  {
    name: "batch $transaction([...]) with $executeRaw",
    write: (prisma, s) => prisma.$transaction([prisma.$executeRaw`UPDATE orders SET qty = ${4} WHERE number = ${s.number}`, prisma.order.delete({ where: { number: s.other } })]),
  },
];

// A raw statement that matched nothing would prove nothing.
const expectCount = (_dialect: Dialect) => (count: number) => {
  if (count !== 1) throw new Error(`expected the raw statement to change 1 row, it changed ${count}`);
  return count;
};

/**
 * With `outbox` or `audit` on, every write shape commits its data and its writer rows in one
 * transaction: when the writer's insert fails (a CHECK constraint or trigger on the writer's table),
 * the application gets the error and the data is not there; otherwise both are.
 */
export function runPrismaAtomicWrites(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma outbox/audit atomic with the write: ${db.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      const failures: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => void failures.push(error));
      if (failures.length > 0) throw failures[0];
    });

    async function world(writer: Writer) {
      const opened = await db.open();
      const koper = new Koper();
      cleanups.push(async () => {
        try {
          await koper.stop();
        } finally {
          await opened.drop();
        }
      });
      const sql = sqlClientOf(opened.client, ({ postgres: "postgresql", mariadb: "mysql", sqlite: "sqlite" } as const)[db.name]);
      const table = `koper_${writer}_${Math.random().toString(36).slice(2, 8)}`;
      if (writer === "outbox") await ensureOutboxTable(sql, { table });
      else await ensureAuditTable(sql, { table });
      const prisma = extend(opened.client, koper, writer === "outbox" ? { outbox: { table, relay: false } } : { audit: { table } });
      await koper.start();
      const seeded = { number: num(), other: num() };
      await opened.client.order.createMany({ data: [{ number: seeded.number, qty: 1 }, { number: seeded.other, qty: 2 }] });
      const entities = async () => (await sql.query(`SELECT entity FROM ${table}`)).map((row) => String(row.entity));
      return { prisma, base: opened.client, sql, table, seeded, entities };
    }

    it("outbox: a batch keeps its shape: one transaction in the array's order, Prisma's error unchanged when an item fails, nothing of a failed batch", async () => {
      const { prisma, base, sql, table, seeded } = await world("outbox");
      const fresh = num();
      const results = await prisma.$transaction([
        prisma.order.create({ data: { number: fresh, qty: 1 } }),
        prisma.order.upsert({ where: { number: seeded.number }, create: { number: seeded.number, qty: 1 }, update: { qty: 4 } }),
        prisma.order.count(),
      ]);
      expect(results).toEqual([expect.objectContaining({ number: fresh }), expect.objectContaining({ number: seeded.number, qty: 4 }), 3]);
      const events = (await sql.query(`SELECT payload FROM ${table} ORDER BY id`)).map((row) => JSON.parse(String(row.payload)) as DataEvent);
      expect(events.map((e) => [e.action, e.transaction.position, e.bulk === undefined])).toEqual([["insert", 0, true], ["update", 1, true]]);
      expect(new Set(events.map((e) => e.transaction.id)).size).toBe(1);
      const failed = prisma.$transaction([prisma.order.create({ data: { number: num(), qty: 1 } }), prisma.order.create({ data: { number: fresh, qty: 2 } })]);
      await expect(failed).rejects.toMatchObject({ code: "P2002" });
      expect(await base.order.count()).toBe(3);
      expect(await sql.query(`SELECT id FROM ${table}`)).toHaveLength(2);
    });

    for (const writer of ["outbox", "audit"] as const) {
      for (const shape of SHAPES.filter((s) => !s.not?.includes(db.name))) {
        it(`${writer}: ${shape.name}: the write and its ${writer} rows commit together`, async () => {
          const { prisma, base, seeded, entities } = await world(writer);
          const before = await snapshot(base);
          await shape.write(prisma, seeded, db.name);
          expect(await snapshot(base)).not.toEqual(before);
          const rows = await entities();
          expect(rows).toContain(shape.refuse ?? "Order");
        });

        it(`${writer}: ${shape.name}: a failing ${writer} insert fails the call and leaves no data`, async () => {
          const { prisma, base, sql, table, seeded, entities } = await world(writer);
          await refuse(sql, db.name, table, shape.refuse ?? "Order");
          const before = await snapshot(base);
          await expect(shape.write(prisma, seeded, db.name)).rejects.toThrow();
          expect(await snapshot(base)).toEqual(before);
          expect(await entities()).toEqual([]);
        });
      }
    }
  });
}

// Everything the shapes write, in a comparable form.
async function snapshot(base: Client) {
  const orders = await base.order.findMany({ orderBy: { number: "asc" }, select: { number: true, qty: true, note: true } });
  const lines = await base.orderLine.findMany({ orderBy: { sku: "asc" }, select: { sku: true, qty: true } });
  return { orders, lines };
}

// The writer's table refuses rows of `entity`: a CHECK constraint, or a trigger on SQLite (no ALTER TABLE ADD CONSTRAINT).
async function refuse(sql: SqlClient, dialect: Dialect, table: string, entity: string): Promise<void> {
  if (dialect === "sqlite") {
    await sql.query(`CREATE TRIGGER ${table}_refuse BEFORE INSERT ON ${table} WHEN NEW.entity = '${entity}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  } else {
    await sql.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_refuse CHECK (entity <> '${entity}')`);
  }
}
