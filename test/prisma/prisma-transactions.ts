import { describe, expect, it } from "vitest";
import type { PrismaDatabase } from "./databases.ts";
import { byPosition, num, usePrismaSetup } from "./setup.ts";

/** Prisma's transaction shapes: batch, the extended client inside a callback, nested scopes. */
export function runPrismaTransactions(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma transactions: ${db.name}`, () => {
    const setup = usePrismaSetup(db);

    it("a batch $transaction([...]) publishes its events when it commits, in one transaction", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const number = num();
      await prisma.$transaction([
        prisma.order.create({ data: { number, qty: 1 } }),
        prisma.order.update({ where: { number }, data: { qty: 2 } }),
        prisma.order.updateMany({ where: { number }, data: { note: "b" } }),
      ]);
      const seen = byPosition(await settle());
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onBulkUpdateOrder"]);
      expect(new Set(seen.map((s) => s.event.transaction.id)).size).toBe(1);
      expect(seen.map((s) => s.event.transaction.position)).toEqual([0, 1, 2]);
      expect(seen[1]!.event.before).toBeUndefined(); // a batch cannot take the extra read
    });

    it("an upsert in a batch: a bulk update whose set and changes are the row's columns, never an included relation; a Json value as stored", async () => {
      const { prisma, settle } = await setup();
      const number = num();
      const [row] = await prisma.$transaction([
        prisma.order.upsert({ where: { number }, create: { number, qty: 1, meta: { set: "x" }, lines: { create: { sku: "A", qty: 1 } } }, update: { qty: 2 }, include: { lines: true, customer: true } }),
      ]);
      expect(row.lines).toHaveLength(1);
      const [upsert] = await settle();
      expect(upsert!.handler).toBe("onBulkUpdateOrder");
      const columns = ["id", "number", "qty", "note", "meta", "customerId", "createdAt", "updatedAt"];
      expect(upsert!.event.changes).toEqual(columns);
      expect(upsert!.event.bulk).toEqual({ criteria: { kind: "where", where: { number } }, set: { ...row, lines: undefined, customer: undefined }, affected: 1 });
      expect(Object.keys(upsert!.event.bulk!.set!)).toEqual(columns);
      expect(upsert!.event.bulk!.set!.meta).toEqual({ set: "x" }); // the column's value, not an operator
    });

    it("a failed batch publishes only the failure, even for items whose query resolved", async () => {
      const { prisma, base, settle } = await setup();
      const [a, dup] = [num(), num()];
      await base.order.create({ data: { number: dup, qty: 1 } });
      await expect(prisma.$transaction([prisma.order.create({ data: { number: a, qty: 1 } }), prisma.order.create({ data: { number: dup, qty: 2 } })])).rejects.toMatchObject({ code: "P2002" });
      expect(await base.order.findUnique({ where: { number: a } })).toBeNull();
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder_X"]);
      expect(seen[0]!.event.data).toMatchObject({ number: dup, qty: 2 });
    });

    it("the extended client (not tx) inside a callback autocommits: its write is published though the transaction rolls back", async () => {
      const { prisma, base, settle } = await setup();
      const [outside, inside] = [num(), num()];
      await expect(prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { number: inside, qty: 1 } });
        await prisma.order.create({ data: { number: outside, qty: 1 } });
        throw new Error("roll back");
      })).rejects.toThrow("roll back");
      expect(await base.order.findUnique({ where: { number: outside } })).not.toBeNull();
      expect(await base.order.findUnique({ where: { number: inside } })).toBeNull();
      expect((await settle()).map((s) => s.event.data?.number)).toEqual([outside]);
    });

    it("a savepoint inside a savepoint: rolling back the inner keeps the outer's events", async () => {
      const { prisma, settle } = await setup();
      const [a, b, c] = [num(), num(), num()];
      await prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { number: a, qty: 1 } });
        await tx.$transaction(async (sp) => {
          await sp.order.create({ data: { number: b, qty: 1 } });
          await sp.$transaction(async (inner) => {
            await inner.order.create({ data: { number: c, qty: 1 } });
            throw new Error("inner only");
          }).catch(() => {});
        });
      });
      expect((await settle()).map((s) => s.event.data?.number)).toEqual([a, b]);
    });

    it("Prisma's refusals inside a transaction (P2025, validation) send no failing SQL: the transaction still commits and publishes", async () => {
      const { prisma, base, settle } = await setup();
      const number = num();
      await prisma.$transaction(async (tx) => {
        await tx.order.update({ where: { id: 987_654 }, data: { qty: 1 } }).catch(() => {});
        await tx.order.create({ data: { qty: 1 } as never }).catch(() => {});
        await tx.order.create({ data: { number, qty: 1 } });
      });
      expect(await base.order.findUnique({ where: { number } })).not.toBeNull();
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onUpdateOrder_X", "onInsertOrder_X", "onInsertOrder"]);
      expect(seen.map((s) => s.event.error?.code ?? null)).toEqual(["not_found", "validation_error", null]);
      expect(seen[0]!.event.key).toEqual({ id: 987_654 });
    });

    it("upsert and captureBefore inside a transaction read in that transaction (they see its own uncommitted rows)", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const number = num();
      await prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { number, qty: 1 } });
        await tx.order.upsert({ where: { number }, create: { number, qty: 9 }, update: { qty: 2 } });
        await tx.order.update({ where: { number }, data: { qty: 3 } });
      });
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onUpdateOrder"]);
      expect(seen.map((s) => s.event.before?.qty)).toEqual([undefined, 1, 2]);
    });
  });
}
