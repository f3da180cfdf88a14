import { describe, expect, it } from "vitest";
import type { PrismaDatabase } from "./databases.ts";
import { byPosition, num, usePrismaSetup } from "./setup.ts";

/** What nested writes (`data: { lines: { … } }`) publish: row events where the result shows them, bulk events elsewhere. */
export function runPrismaNested(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma nested writes: ${db.name}`, () => {
    const setup = usePrismaSetup(db);

    it("nested create: the created rows of list and to-one relations become row events; the added include is stripped", async () => {
      const { prisma, settle } = await setup();
      const email = `${num()}@x.io`;
      const order = await prisma.order.create({
        data: { number: num(), qty: 1, customer: { create: { email, passwordHash: "h" } }, lines: { create: [{ sku: "A", qty: 1 }, { sku: "B", qty: 2 }] } },
      });
      expect(order).not.toHaveProperty("lines");
      expect(order).not.toHaveProperty("customer");
      const seen = byPosition(await settle());
      expect(seen.map((s) => s.handler)).toEqual(["onInsertCustomer", "onInsertOrder", "onInsertOrderLine", "onInsertOrderLine"]);
      expect(seen[1]!.event.data).toMatchObject({ customerId: seen[0]!.event.key!.id });
      expect(seen.slice(2).map((s) => s.event.data?.orderId)).toEqual([order.id, order.id]);
      expect(new Set(seen.map((s) => s.event.transaction.id)).size).toBe(1);
    });

    it("a nested create whose rows write relations of their own: bulk inserts all the way down", async () => {
      const { prisma, settle } = await setup();
      const number = num();
      await prisma.customer.create({
        data: { email: `${num()}@x.io`, passwordHash: "h", orders: { create: [{ number, qty: 1, lines: { create: [{ sku: "A", qty: 1 }, { sku: "B", qty: 2 }] } }] } },
      });
      const seen = byPosition(await settle());
      expect(seen.map((s) => s.handler)).toEqual(["onInsertCustomer", "onBulkInsertOrder", "onBulkInsertOrderLine", "onBulkInsertOrderLine"]);
      // The orders hold the new customer's key (the nested data cannot name it); deeper rows' parents are unknown.
      expect(seen[1]!.event.bulk).toEqual({ criteria: null, set: { number, qty: 1, customerId: seen[0]!.event.key!.id }, affected: null });
      expect(seen.slice(2).map((s) => s.event.bulk?.set)).toEqual([{ sku: "A", qty: 1 }, { sku: "B", qty: 2 }]);
    });

    it("nested writes the result cannot show: bulk events of the related model; many-to-many links only in changes", async () => {
      const { prisma, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 1, tags: { create: [{ name: num() }] } } });
      await prisma.order.update({
        where: { id: order.id },
        data: { lines: { create: { sku: "C", qty: 3 }, deleteMany: { qty: { gt: 10 } } }, tags: { connectOrCreate: { where: { name: "vip" }, create: { name: "vip" } } } },
      });
      const all = await settle();
      const seen = [...byPosition(all.filter((s) => s.event.transaction.id === all[0]!.event.transaction.id)), ...byPosition(all.filter((s) => s.event.transaction.id !== all[0]!.event.transaction.id))];
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder", "onInsertTag", "onUpdateOrder", "onBulkInsertOrderLine", "onBulkDeleteOrderLine", "onBulkInsertTag"]);
      const update = seen[2]!.event;
      // Only other tables were written: the order's row (and its @updatedAt) is untouched.
      expect(update.changes).toEqual(["lines", "tags"]);
      expect(update.data!.updatedAt).toEqual(order.updatedAt);
      expect(seen[3]!.event.bulk).toEqual({ criteria: null, set: { sku: "C", qty: 3, orderId: order.id }, affected: null }); // the parent's key too
      // The order's lines only, not every line of the table.
      expect(seen[4]!.event.bulk).toEqual({ criteria: { kind: "where", where: { qty: { gt: 10 }, orderId: order.id } }, affected: null });
    });

    it("nested updateMany/deleteMany under an update: criteria name the parent's foreign key, changes name operators", async () => {
      const { prisma, base, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 1, lines: { create: [{ sku: "a", qty: 1 }, { sku: "b", qty: 2 }] } } });
      const other = await prisma.order.create({ data: { number: num(), qty: 1, lines: { create: [{ sku: "a", qty: 1 }] } } });
      await prisma.order.update({ where: { id: order.id }, data: { lines: { updateMany: { where: { sku: "a" }, data: { qty: { increment: 5 } } } } } });
      await prisma.order.update({ where: { id: order.id }, data: { lines: { deleteMany: {} } } });
      await prisma.order.update({ where: { id: order.id }, data: { lines: { deleteMany: { orderId: other.id } } } });
      expect(await base.orderLine.findMany({ where: { orderId: other.id }, select: { sku: true, qty: true } })).toEqual([{ sku: "a", qty: 1 }]);
      const seen = (await settle()).filter((s) => s.handler.startsWith("onBulk"));
      expect(seen.map((s) => s.handler)).toEqual(["onBulkUpdateOrderLine", "onBulkDeleteOrderLine", "onBulkDeleteOrderLine"]);
      expect(seen[0]!.event.bulk).toEqual({ criteria: { kind: "where", where: { sku: "a", orderId: order.id } }, affected: null });
      expect(seen[0]!.event.changes).toEqual(["qty"]);
      expect(seen[1]!.event.bulk).toEqual({ criteria: { kind: "where", where: { orderId: order.id } }, affected: null });
      // A filter naming the foreign key itself is kept whole, beside the parent's key.
      expect(seen[2]!.event.bulk).toEqual({ criteria: { kind: "where", where: { AND: [{ orderId: order.id }, { orderId: other.id }] } }, affected: null });
    });

    it("connect/disconnect/set on a one-to-many under an update: bulk updates that name the foreign key, and set unlinks the parent's rows first", async () => {
      const { prisma, base, settle } = await setup();
      const customer = await prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: "h" } });
      const [linked, other] = [await prisma.order.create({ data: { number: num(), qty: 1, customerId: customer.id } }), await prisma.order.create({ data: { number: num(), qty: 1 } })];
      await new Promise((resolve) => setTimeout(resolve, 5));
      await prisma.customer.update({ where: { id: customer.id }, data: { orders: { set: [{ id: other.id }] } } });
      const rows = await base.order.findMany({ orderBy: { id: "asc" } });
      expect(rows.map((r) => r.customerId)).toEqual([null, customer.id]);
      expect(rows.map((r) => r.updatedAt > linked.updatedAt)).toEqual([false, true]); // Prisma sets @updatedAt on the row it links only
      await new Promise((resolve) => setTimeout(resolve, 5));
      await prisma.customer.update({ where: { id: customer.id }, data: { orders: { disconnect: [{ id: other.id }], connect: [{ id: linked.id }] } } });
      const again = await base.order.findMany({ orderBy: { id: "asc" } });
      expect(again.map((r) => r.customerId)).toEqual([customer.id, null]);
      expect(again.map((r, i) => r.updatedAt > rows[i]!.updatedAt)).toEqual([true, false]);
      const bulk = (await settle()).filter((s) => s.handler === "onBulkUpdateOrder").map((s) => s.event);
      const where = (w: object) => ({ kind: "where", where: w });
      expect(bulk.map((e) => e.bulk)).toEqual([
        { criteria: where({ customerId: customer.id }), set: { customerId: null }, affected: null },
        { criteria: where({ id: other.id }), set: { customerId: customer.id }, affected: null },
        { criteria: where({ id: other.id, customerId: customer.id }), set: { customerId: null }, affected: null },
        { criteria: where({ id: linked.id }), set: { customerId: customer.id }, affected: null },
      ]);
      expect(bulk.map((e) => e.changes)).toEqual([["customerId"], ["customerId", "updatedAt"], ["customerId"], ["customerId", "updatedAt"]]);
    });

    it("a nested deleteMany on a many-to-many under an update: criteria limited to the rows linked to the parent", async () => {
      const { prisma, base, settle } = await setup();
      const [mine, theirs] = [num(), num()];
      const order = await prisma.order.create({ data: { number: num(), qty: 1, tags: { create: [{ name: mine }] } } });
      await prisma.order.create({ data: { number: num(), qty: 1, tags: { create: [{ name: theirs }] } } });
      await prisma.order.update({ where: { id: order.id }, data: { tags: { deleteMany: {} } } });
      expect((await base.tag.findMany()).map((t) => t.name)).toEqual([theirs]);
      const deleted = (await settle()).filter((s) => s.event.entity === "Tag" && s.event.action === "delete");
      expect(deleted.map((s) => s.event.bulk)).toEqual([{ criteria: { kind: "where", where: { orders: { some: { id: order.id } } } }, affected: null }]);
    });
  });
}
