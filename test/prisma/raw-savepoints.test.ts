// Savepoints an application sets with raw SQL inside an interactive transaction (as
// @nestjs-cls/transactional's Prisma adapter does for Propagation.Nested): rolling back to one drops
// the events of the writes made since, releasing one keeps them, on every database.
import { describe, expect, it } from "vitest";
import { prismaDatabase } from "./databases.ts";
import { byPosition, num, usePrismaSetup } from "./setup.ts";

for (const name of ["sqlite", "postgres", "mariadb"] as const) {
  const db = await prismaDatabase(name);
  describe.skipIf(db.skip !== undefined)(`prisma raw savepoints: ${name}`, () => {
    const setup = usePrismaSetup(db);

    it("ROLLBACK TO SAVEPOINT drops only the writes made since it; RELEASE keeps them; one transaction", async () => {
      const { prisma, base, settle } = await setup();
      const [first, dropped, kept, last] = [num(), num(), num(), num()];
      await prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { number: first, qty: 1 } });
        await tx.$executeRawUnsafe("SAVEPOINT sp_a;");
        await tx.order.create({ data: { number: dropped, qty: 1 } });
        await tx.$executeRawUnsafe("SAVEPOINT sp_inner");
        await tx.order.update({ where: { number: first }, data: { qty: 5 } });
        await tx.$executeRawUnsafe("ROLLBACK TO SAVEPOINT sp_a;"); // sp_inner goes with it
        await tx.$executeRawUnsafe("SAVEPOINT sp_b;");
        await tx.order.create({ data: { number: kept, qty: 1 } });
        await tx.$executeRawUnsafe("RELEASE SAVEPOINT sp_b;");
        await tx.order.create({ data: { number: last, qty: 1 } }); // still inside sp_a, never released
      });
      expect((await base.order.findMany({ orderBy: { id: "asc" } })).map((o) => [o.number, o.qty])).toEqual([
        [first, 1],
        [kept, 1],
        [last, 1],
      ]);
      const seen = byPosition(await settle());
      expect(seen.map((s) => [s.handler, s.event.data?.number])).toEqual([
        ["onInsertOrder", first],
        ["onInsertOrder", kept],
        ["onInsertOrder", last],
      ]);
      expect(new Set(seen.map((s) => s.event.transaction.id)).size).toBe(1);
      expect(seen.map((s) => s.event.transaction.position)).toEqual([0, 1, 2]);
    });

    it("a transaction that rolls back after a released savepoint publishes nothing", async () => {
      const { prisma, settle } = await setup();
      await expect(
        prisma.$transaction(async (tx) => {
          await tx.$executeRawUnsafe("SAVEPOINT sp_x");
          await tx.order.create({ data: { number: num(), qty: 1 } });
          await tx.$executeRawUnsafe("RELEASE SAVEPOINT sp_x");
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      expect(await settle()).toEqual([]);
    });
  });
}
