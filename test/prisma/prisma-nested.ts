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

    it("a to-one's update, disconnect: true and delete: true (and their filters) name the parent's one row, not every row", async () => {
      const { prisma, base, settle } = await setup();
      const [order, other] = [await prisma.order.create({ data: { number: num(), qty: 1, shipment: { create: { carrier: "ups" } } } }), await prisma.order.create({ data: { number: num(), qty: 1, shipment: { create: { carrier: "ups" } } } })];
      const mine = { orderId: order.id };
      const selects = async (where: object) => (await base.shipment.findMany({ where, select: { orderId: true } })).map((s) => s.orderId);
      await prisma.order.update({ where: { id: order.id }, data: { shipment: { update: { status: "packed" } } } });
      await prisma.order.update({ where: { id: order.id }, data: { shipment: { update: { where: { carrier: "ups" }, data: { status: "sent" } } } } });
      expect(await selects(mine)).toEqual([order.id]);
      await prisma.order.update({ where: { id: order.id }, data: { shipment: { disconnect: true } } });
      const loose = await base.shipment.findFirstOrThrow({ where: { orderId: null } });
      await prisma.order.update({ where: { id: order.id }, data: { shipment: { connect: { id: loose.id } } } });
      await prisma.order.update({ where: { id: order.id }, data: { shipment: { delete: { carrier: "ups" } } } });
      await prisma.order.update({ where: { id: other.id }, data: { shipment: { delete: true } } });
      expect(await base.shipment.count()).toBe(0);
      const seen = (await settle()).filter((s) => s.event.entity === "Shipment" && s.handler.startsWith("onBulk"));
      const where = (w: object) => ({ kind: "where", where: w });
      expect(seen.map((s) => [s.handler, s.event.bulk, s.event.changes])).toEqual([
        ["onBulkUpdateShipment", { criteria: where(mine), set: { status: "packed" }, affected: null }, ["status"]],
        ["onBulkUpdateShipment", { criteria: where({ carrier: "ups", ...mine }), set: { status: "sent" }, affected: null }, ["status"]],
        ["onBulkUpdateShipment", { criteria: where(mine), set: { orderId: null }, affected: null }, ["orderId"]],
        ["onBulkUpdateShipment", { criteria: where({ id: loose.id }), set: mine, affected: null }, ["orderId"]],
        ["onBulkDeleteShipment", { criteria: where({ carrier: "ups", ...mine }), affected: null }, undefined],
        ["onBulkDeleteShipment", { criteria: where({ orderId: other.id }), affected: null }, undefined],
      ]);
    });

    it("a to-one whose key the parent holds: update by the key it holds, delete by the key read before (null after), deeper down through the row above", async () => {
      const { prisma, base, settle } = await setup();
      const customer = await prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: "h" } });
      const [order, other] = [await prisma.order.create({ data: { number: num(), qty: 1, customerId: customer.id } }), await prisma.order.create({ data: { number: num(), qty: 1 } })];
      const shipment = await prisma.shipment.create({ data: { carrier: "ups", orderId: order.id } });
      const [theirs, loose] = [await prisma.shipment.create({ data: { carrier: "dhl", orderId: other.id } }), await prisma.shipment.create({ data: { carrier: "x" } })];
      await prisma.customer.update({ where: { id: customer.id }, data: { orders: { update: { where: { id: order.id }, data: { shipment: { update: { status: "deep" } } } } } } });
      await prisma.shipment.update({ where: { id: shipment.id }, data: { order: { update: { note: "n" } } } });
      await prisma.shipment.update({ where: { id: shipment.id }, data: { order: { delete: true } } });
      // A batch takes no read: the deleted order is named through the shipment, as it was.
      await prisma.$transaction([prisma.shipment.update({ where: { id: theirs.id }, data: { order: { delete: true } } })]);
      const number = num();
      const { orderId } = await prisma.shipment.update({ where: { id: loose.id }, data: { order: { create: { number, qty: 1 } } } });
      expect((await base.order.findMany()).map((o) => o.id)).toEqual([orderId]);
      const seen = await settle();
      const bulk = (handler: string) => seen.filter((s) => s.handler === handler).map((s) => s.event.bulk);
      expect(bulk("onBulkUpdateShipment")).toEqual([{ criteria: { kind: "where", where: { order: { is: { id: order.id } } } }, set: { status: "deep" }, affected: null }]);
      expect(await base.shipment.findMany({ where: { carrier: "ups" } })).toMatchObject([{ status: "deep", orderId: null }]);
      expect(bulk("onBulkUpdateOrder")).toEqual([
        { criteria: { kind: "where", where: { id: order.id } }, affected: null }, // the customer's order whose shipment it updated
        { criteria: { kind: "where", where: { id: order.id } }, set: { note: "n" }, affected: null },
      ]);
      expect(bulk("onBulkDeleteOrder")).toEqual([
        { criteria: { kind: "where", where: { id: order.id } }, affected: null },
        { criteria: { kind: "where", where: { shipment: { is: { id: theirs.id } } } }, affected: null },
      ]);
      expect(bulk("onBulkInsertOrder")).toEqual([{ criteria: null, set: { number, qty: 1, id: orderId }, affected: null }]); // the key the shipment holds now
    });
    it("a nested upsert publishes the branch that ran (read before it): an update by the row's key with update's values, or an insert with create's and the parent's key", async () => {
      const { prisma, base, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 1, lines: { create: { sku: "a", qty: 1 } } }, include: { lines: true } });
      const other = await prisma.order.create({ data: { number: num(), qty: 1, lines: { create: { sku: "b", qty: 1 } } }, include: { lines: true } });
      const [line, theirs] = [order.lines[0]!, other.lines[0]!];
      // A list's upsert looks among the parent's rows: the other order's line is not found, a line is created.
      const lines = [{ where: { id: line.id }, create: { sku: "phantom", qty: 1 }, update: { qty: 5 } }, { where: { id: theirs.id }, create: { sku: "new", qty: 2 }, update: { qty: 99 } }];
      await prisma.order.update({ where: { id: order.id }, data: { lines: { upsert: lines } } });
      await prisma.order.update({ where: { id: order.id }, data: { shipment: { upsert: { create: { carrier: "ups" }, update: { status: "phantom" } } } } });
      await prisma.order.update({ where: { number: order.number }, data: { shipment: { upsert: { create: { carrier: "phantom" }, update: { status: "moved" } } } } });
      const rows = await base.orderLine.findMany({ orderBy: { id: "asc" }, select: { orderId: true, sku: true, qty: true } });
      expect(rows).toEqual([{ orderId: order.id, sku: "a", qty: 5 }, { orderId: other.id, sku: "b", qty: 1 }, { orderId: order.id, sku: "new", qty: 2 }]);
      const shipment = await base.shipment.findUniqueOrThrow({ where: { orderId: order.id } });
      expect(shipment).toMatchObject({ carrier: "ups", status: "moved" });
      const seen = (await settle()).filter((s) => s.handler.startsWith("onBulk"));
      const of = (entity: string) => seen.filter((s) => s.event.entity === entity).map((s) => [s.handler, s.event.bulk, s.event.changes]);
      expect(of("OrderLine")).toEqual([
        ["onBulkUpdateOrderLine", { criteria: { kind: "where", where: { id: line.id } }, set: { qty: 5 }, affected: 1 }, ["qty"]],
        ["onBulkInsertOrderLine", { criteria: null, set: { sku: "new", qty: 2, orderId: order.id }, affected: 1 }, undefined],
      ]);
      expect(of("Shipment")).toEqual([
        ["onBulkInsertShipment", { criteria: null, set: { carrier: "ups", orderId: order.id }, affected: 1 }, undefined],
        ["onBulkUpdateShipment", { criteria: { kind: "where", where: { id: shipment.id } }, set: { status: "moved" }, affected: 1 }, ["status"]],
      ]);
      expect(JSON.stringify(seen.map((s) => s.event))).not.toContain("phantom"); // no value of a branch that did not run
    });

    it("a to-one upsert whose key the parent holds: an insert with the new row's key, then an update by it; only the branch that ran publishes its nested writes", async () => {
      const { prisma, base, settle } = await setup();
      const shipment = await prisma.shipment.create({ data: { carrier: "ups" } });
      const number = num();
      const order = { create: { number, qty: 1, lines: { create: { sku: "created", qty: 1 } } }, update: { qty: 2, lines: { create: { sku: "updated", qty: 1 } } } };
      const upsert = () => prisma.shipment.update({ where: { id: shipment.id }, data: { order: { upsert: order } } });
      const { orderId } = await upsert();
      await upsert();
      expect((await base.orderLine.findMany({ where: { orderId: orderId! }, orderBy: { id: "asc" } })).map((l) => l.sku)).toEqual(["created", "updated"]);
      const seen = (await settle()).filter((s) => s.handler.startsWith("onBulk"));
      const of = (entity: string) => seen.filter((s) => s.event.entity === entity).map((s) => [s.handler, s.event.bulk]);
      expect(of("Order")).toEqual([
        ["onBulkInsertOrder", { criteria: null, set: { number, qty: 1, id: orderId }, affected: 1 }],
        ["onBulkUpdateOrder", { criteria: { kind: "where", where: { id: orderId } }, set: { qty: 2 }, affected: 1 }],
      ]);
      expect(seen.filter((s) => s.event.entity === "OrderLine").map((s) => s.event.bulk?.set?.sku)).toEqual(["created", "updated"]);
    });

    it("an upsert or connectOrCreate whose branch cannot be read (in a batch, or after another operation on the relation): an update with no values of the parent's related rows, neither branch's nested writes", async () => {
      const { prisma, base, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 1, lines: { create: { sku: "a", qty: 1 } } }, include: { lines: true } });
      const [line, shipment] = [order.lines[0]!, await prisma.shipment.create({ data: { carrier: "dhl" } })];
      const [customer, other] = [{ create: { email: `${num()}@x`, passwordHash: "h" }, update: { passwordHash: "h2" } }, { create: { number: num(), qty: 1, lines: { create: { sku: "c", qty: 1 } } }, update: { qty: 2 } }];
      await prisma.$transaction([
        prisma.order.update({ where: { id: order.id }, data: { shipment: { upsert: { create: { carrier: "ups" }, update: { status: "x" } } }, customer: { upsert: customer } } }),
        prisma.shipment.update({ where: { id: shipment.id }, data: { order: { upsert: other } } }),
        prisma.order.update({ where: { id: order.id }, data: { tags: { connectOrCreate: { where: { name: "vip" }, create: { name: "vip" } } } } }),
      ]);
      // Prisma deletes the line first, then the upsert finds none and creates one: a read before the call would say "update".
      await prisma.order.update({ where: { id: order.id }, data: { lines: { delete: { id: line.id }, upsert: { where: { id: line.id }, create: { sku: "b", qty: 2 }, update: { qty: 9 } } } } });
      expect(await base.orderLine.findMany({ where: { orderId: order.id }, select: { sku: true, qty: true } })).toEqual([{ sku: "b", qty: 2 }]);
      const { customerId } = await base.order.findUniqueOrThrow({ where: { id: order.id } });
      const { orderId } = await base.shipment.findUniqueOrThrow({ where: { id: shipment.id } });
      const seen = (await settle()).filter((s) => s.handler.startsWith("onBulk"));
      const of = (entity: string) => seen.filter((s) => s.event.entity === entity).map((s) => [s.handler, s.event.bulk]);
      const where = (w: object) => ({ kind: "where", where: w });
      expect(of("Shipment")).toEqual([["onBulkUpdateShipment", { criteria: where({ orderId: order.id }), affected: null }]]);
      expect(of("Customer")).toEqual([["onBulkUpdateCustomer", { criteria: where({ id: customerId }), affected: null }]]);
      expect(of("Order")).toEqual([["onBulkUpdateOrder", { criteria: where({ id: orderId }), affected: null }]]);
      expect(of("Tag")).toEqual([["onBulkUpdateTag", { criteria: where({ orders: { some: { id: order.id } } }), affected: null }]]);
      // No line "c" (the new order's, a branch not known to have run), no update of the deleted line.
      expect(of("OrderLine")).toEqual([
        ["onBulkDeleteOrderLine", { criteria: where({ id: line.id }), affected: null }],
        ["onBulkUpdateOrderLine", { criteria: where({ orderId: order.id }), affected: null }],
      ]);
    });

    it("connectOrCreate publishes an insert only when it created the row (read before it); connecting publishes the re-link, or nothing on a many-to-many", async () => {
      const { prisma, base, settle } = await setup();
      const [vip, fresh, number] = [num(), num(), num()];
      await prisma.tag.create({ data: { name: vip } });
      const customer = await prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: "h" } });
      const loose = await prisma.order.create({ data: { number: num(), qty: 1 } });
      const tags = [vip, fresh].map((name) => ({ where: { name }, create: { name } }));
      await prisma.order.create({ data: { number: num(), qty: 1, tags: { connectOrCreate: tags } } });
      const orders = [loose.number, number].map((n) => ({ where: { number: n }, create: { number: n, qty: 3 } }));
      await prisma.customer.update({ where: { id: customer.id }, data: { orders: { connectOrCreate: orders } } });
      expect(await base.tag.count()).toBe(2);
      expect((await base.order.findMany({ where: { customerId: customer.id }, orderBy: { id: "asc" } })).map((o) => [o.number, o.qty])).toEqual([[loose.number, 1], [number, 3]]);
      const seen = (await settle()).filter((s) => s.handler.startsWith("onBulk"));
      const of = (entity: string) => seen.filter((s) => s.event.entity === entity).map((s) => [s.handler, s.event.bulk]);
      expect(of("Tag")).toEqual([["onBulkInsertTag", { criteria: null, set: { name: fresh }, affected: 1 }]]);
      expect(of("Order")).toEqual([
        ["onBulkUpdateOrder", { criteria: { kind: "where", where: { number: loose.number } }, set: { customerId: customer.id }, affected: null }],
        ["onBulkInsertOrder", { criteria: null, set: { number, qty: 3, customerId: customer.id }, affected: 1 }],
      ]);
    });
  });
}
