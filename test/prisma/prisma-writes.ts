import { koperPrisma } from "@koper/prisma";
import { describe, expect, it } from "vitest";
import type { PrismaDatabase } from "./databases.ts";
import { num, usePrismaSetup } from "./setup.ts";

/** What each Prisma write call publishes, where the ORM-independent contract does not cover it. */
export function runPrismaWrites(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma writes: ${db.name}`, () => {
    const setup = usePrismaSetup(db);
    const andReturn = db.name !== "mariadb"; // Prisma has *AndReturn on PostgreSQL and SQLite only

    it("upsert: an insert when the row did not exist, an update (changes from args.update) when it did", async () => {
      const { prisma, settle } = await setup();
      const number = num();
      const upsert = (qty: number) => prisma.order.upsert({ where: { number }, create: { number, qty }, update: { qty } });
      const created = await upsert(1);
      await upsert(2);
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder", "onUpdateOrder"]);
      expect(seen[0]!.event).toMatchObject({ key: { id: created.id }, data: { number, qty: 1 } });
      expect(seen[1]!.event).toMatchObject({ key: { id: created.id }, data: { number, qty: 2 } });
      expect(seen[1]!.event.changes).toEqual(["qty", "updatedAt"]);
      expect(seen[1]!.event.before).toBeUndefined(); // captureBefore is off
    });

    it("koper.runWith(context, () => prisma.order.create(…)) stamps the context, though a Prisma query starts only when awaited", async () => {
      const { koper, prisma, settle } = await setup();
      await koper.runWith({ actor: "alice", requestId: "r-1" }, () => prisma.order.create({ data: { number: num(), qty: 1 } }));
      await koper.runWith({ actor: "bob" }, () => prisma.$transaction([prisma.order.create({ data: { number: num(), qty: 1 } })]));
      const seen = await settle();
      const contexts = seen.map((s) => s.event.context).sort((a, b) => String(a.actor).localeCompare(String(b.actor)));
      expect(contexts).toEqual([{ actor: "alice", requestId: "r-1" }, { actor: "bob" }]); // two keys: any delivery order
    });

    it("upsert with nested writes in both branches: only the branch that ran publishes its nested rows", async () => {
      const { prisma, settle } = await setup();
      const number = num();
      const upsert = (sku: string) =>
        prisma.order.upsert({ where: { number }, create: { number, qty: 1, lines: { create: { sku: `${sku}-created`, qty: 1 } } }, update: { lines: { create: { sku: `${sku}-updated`, qty: 1 } } } });
      await upsert("first");
      await upsert("second");
      const lines = (await settle()).filter((s) => s.handler === "onBulkInsertOrderLine").map((s) => s.event.bulk?.set?.sku).sort();
      expect(lines).toEqual(["first-created", "second-updated"]);
    });

    it("update: changes from args.data (operators included), @updatedAt fields, and no before unless asked", async () => {
      const { prisma, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 1, meta: { gift: true } } });
      await prisma.order.update({ where: { id: order.id }, data: { qty: { increment: 2 }, note: "n" } });
      const [insert, update] = await settle();
      expect(insert!.event.data).toMatchObject({ number: order.number, qty: 1, meta: { gift: true } });
      expect(update!.event.data).toMatchObject({ qty: 3, note: "n" });
      expect(update!.event.changes).toEqual(["qty", "note", "updatedAt"]);
      expect(update!.event).not.toHaveProperty("before");
      expect(update!.event.source).toMatchObject({ orm: "prisma", table: "orders" });
    });

    it("a Json column whose value looks like an operator ({ increment }, { set }) is published as that value", async () => {
      const { prisma, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 1, meta: { increment: 1 } } });
      await prisma.order.update({ where: { id: order.id }, data: { meta: { set: "x" } } });
      const [insert, update] = await settle();
      expect(insert!.event.data).toMatchObject({ meta: { increment: 1 } });
      expect(update!.event.data).toMatchObject({ meta: { set: "x" } });
    });

    it("a Json field's { set } / { increment } in data is the value stored, in update, updateMany and create events alike", async () => {
      const { prisma, base, settle } = await setup();
      const [number, taken] = [num(), num()];
      await prisma.order.create({ data: { number: taken, qty: 1 } });
      const order = await prisma.order.create({ data: { number, qty: 1 } });
      await prisma.order.updateMany({ where: { number }, data: { meta: { set: "x" }, qty: { increment: 1 } } });
      expect((await base.order.findUniqueOrThrow({ where: { number } })).meta).toEqual({ set: "x" }); // what Prisma stores
      await expect(prisma.order.update({ where: { id: 424_242 }, data: { meta: { set: "u" }, qty: { set: 5 } } })).rejects.toMatchObject({ code: "P2025" });
      await expect(prisma.order.create({ data: { number: taken, qty: 1, meta: { increment: 1 } } })).rejects.toMatchObject({ code: "P2002" });
      await prisma.order.update({ where: { id: order.id }, data: { customer: { create: { email: `${num()}@x.io`, passwordHash: "h", profile: { set: "c" } } } } });
      const seen = await settle();
      const of = (handler: string) => seen.find((s) => s.handler === handler)!.event;
      expect(of("onBulkUpdateOrder").bulk?.set).toEqual({ meta: { set: "x" } }); // qty's increment is an operator, not a value
      expect(of("onBulkUpdateOrder").changes).toEqual(["meta", "qty", "updatedAt"]); // qty changed all the same
      expect(of("onUpdateOrder_X").data).toEqual({ meta: { set: "u" }, qty: 5 });
      expect(of("onInsertOrder_X").data).toEqual({ number: taken, qty: 1, meta: { increment: 1 } });
      expect(seen.find((s) => s.handler === "onBulkInsertCustomer")?.event.bulk?.set).toMatchObject({ profile: { set: "c" } });
    });

    it("captureBefore per model reads the row first: Order gets before, Customer does not", async () => {
      const { prisma, settle } = await setup({ captureBefore: ["Order"] });
      const order = await prisma.order.create({ data: { number: num(), qty: 1 } });
      const customer = await prisma.customer.create({ data: { email: `${num()}@x.io`, passwordHash: "h" } });
      await prisma.order.update({ where: { id: order.id }, data: { qty: 5 } });
      await prisma.customer.update({ where: { id: customer.id }, data: { passwordHash: "h2" } });
      const seen = await settle();
      const order2 = seen.find((s) => s.handler === "onUpdateOrder")!.event;
      const customer2 = seen.find((s) => s.handler === "onUpdateCustomer")!.event;
      expect(order2.before).toMatchObject({ id: order.id, qty: 1 });
      expect(customer2.before).toBeUndefined();
    });

    it("delete publishes the row Prisma returns as before; a select without the key still gives the event its key", async () => {
      const { prisma, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 4 }, select: { number: true } });
      expect(order).toEqual({ number: expect.any(String) }); // the app gets what it selected
      await prisma.order.delete({ where: { number: order.number } });
      const [insert, del] = await settle();
      expect(insert!.event.key).toEqual({ id: expect.any(Number) });
      expect(del!.event).toMatchObject({ action: "delete", key: insert!.event.key, data: null, before: { number: order.number, qty: 4 } });
    });

    it("a query extension that changes args and a result extension, before and after Koper's: events carry the written row, the app its computed field", async () => {
      const { base, koper, settle } = await setup();
      const noted = { query: { order: { create: ({ args, query }: { args: { data: object }; query: (args: unknown) => Promise<unknown> }) => query({ ...args, data: { ...args.data, note: "from-ext" } }) } } };
      const shout = { result: { order: { shout: { needs: { number: true }, compute: (order: { number: string }) => order.number.toUpperCase() } } } };
      const inner = base.$extends(noted as never).$extends(shout).$extends(koperPrisma(koper));
      const outer = (base.$extends(koperPrisma(koper)) as unknown as typeof base).$extends(noted as never).$extends(shout);
      for (const client of [inner, outer]) {
        const number = num();
        const created = await client.order.create({ data: { number, qty: 1 } });
        expect([created.shout, created.note]).toEqual([number.toUpperCase(), "from-ext"]);
        const computed = await client.order.update({ where: { number }, data: { qty: 2 }, select: { shout: true } });
        expect([Object.keys(computed), computed.shout]).toEqual([["shout"], number.toUpperCase()]);
        expect(await client.order.update({ where: { number }, data: { qty: 3 }, select: { qty: true } })).toEqual({ qty: 3 });
      }
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onUpdateOrder", "onInsertOrder", "onUpdateOrder", "onUpdateOrder"]);
      for (const { event } of seen) expect(event.data).not.toHaveProperty("shout");
      const narrowed = [undefined, undefined];
      expect(seen.map((s) => [s.event.data!.note, s.event.data!.qty])).toEqual([["from-ext", 1], narrowed, ["from-ext", 3], ["from-ext", 1], narrowed, ["from-ext", 3]]);
      // A select of a computed field narrows the event to what Prisma returned (with the key).
      expect(Object.keys(seen[1]!.event.data!).sort()).toEqual(["id", "number"]);
      expect(Object.keys(seen[2]!.event.data!)).toHaveLength(8);
    });

    it("select and omit: the app gets what it asked for, the events the whole row (key included) by field name", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const number = num();
      const created = await prisma.order.create({ data: { number, qty: 1, note: "a" }, select: { note: true } });
      expect(created).toEqual({ note: "a" });
      const updated = await prisma.order.update({ where: { number }, data: { qty: 2 }, select: { qty: true, lines: true } });
      expect(updated).toEqual({ qty: 2, lines: [] });
      const omitted = await prisma.order.update({ where: { number }, data: { note: "b" }, omit: { meta: true, number: true } });
      expect(Object.keys(omitted).sort()).toEqual(["createdAt", "customerId", "id", "note", "qty", "updatedAt"]);
      const upserted = await prisma.order.upsert({ where: { number }, create: { number, qty: 9 }, update: { qty: 3 }, select: { qty: true } });
      expect(upserted).toEqual({ qty: 3 });
      const deleted = await prisma.order.delete({ where: { number }, omit: { note: true } });
      expect(deleted).not.toHaveProperty("note");
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onUpdateOrder", "onUpdateOrder", "onDeleteOrder"]);
      const fields = ["createdAt", "customerId", "id", "meta", "note", "number", "qty", "updatedAt"];
      for (const { event } of seen) expect(Object.keys((event.data ?? event.before)!).sort()).toEqual(fields);
      expect(seen.map((s) => s.event.data?.qty ?? s.event.before?.qty)).toEqual([1, 2, 2, 3, 3]);
      expect(seen.map((s) => s.event.data?.note ?? s.event.before?.note)).toEqual(["a", "a", "b", "b", "b"]);
      expect(seen[1]!.event.before).toMatchObject({ qty: 1, note: "a" });
    });

    it.skipIf(!andReturn)("createManyAndReturn and updateManyAndReturn publish one row event per row, with before when asked", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const rows = await prisma.order.createManyAndReturn({ data: [{ number: num(), qty: 1 }, { number: num(), qty: 2 }] });
      await prisma.order.updateManyAndReturn({ where: { id: { in: rows.map((r) => r.id) } }, data: { note: "x" } });
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onInsertOrder", "onInsertOrder", "onUpdateOrder", "onUpdateOrder"]);
      expect(seen.slice(0, 2).map((s) => s.event.key)).toEqual(rows.map((r) => ({ id: r.id })));
      const updates = seen.slice(2).map((s) => s.event);
      expect(updates.map((e) => [e.data?.note, e.before?.note ?? null, e.changes])).toEqual([["x", null, ["note", "updatedAt"]], ["x", null, ["note", "updatedAt"]]]);
      expect(new Set(updates.map((e) => e.transaction.id)).size).toBe(1); // one call, one transaction
    });

    it("createMany, updateMany (OR/NOT where), deleteMany: bulk events with where criteria and the count", async () => {
      const { prisma, settle } = await setup();
      await prisma.order.createMany({ data: [{ number: num(), qty: 1 }, { number: num(), qty: 5 }, { number: num(), qty: 9 }] });
      const where = { OR: [{ qty: 1 }, { qty: 9 }, { qty: 5 }], NOT: { qty: 5 } };
      await prisma.order.updateMany({ where, data: { note: "picked" } });
      await prisma.order.deleteMany({ where: { qty: { gte: 5 } } });
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onBulkInsertOrder", "onBulkUpdateOrder", "onBulkDeleteOrder"]);
      expect(seen[0]!.event.bulk).toEqual({ criteria: null, affected: 3 });
      expect(seen[1]!.event.bulk).toEqual({ criteria: { kind: "where", where }, set: { note: "picked" }, affected: 2 });
      expect(seen[1]!.event.changes).toEqual(["note", "updatedAt"]); // Prisma sets @updatedAt in updateMany too
      expect(seen[2]!.event.bulk).toEqual({ criteria: { kind: "where", where: { qty: { gte: 5 } } }, affected: 2 });
    });

    it("$executeRaw and $executeRawUnsafe: bulk events with the SQL, its parameters and the affected count", async () => {
      const { prisma, settle } = await setup();
      await prisma.order.createMany({ data: [{ number: num(), qty: 1 }, { number: num(), qty: 7 }] });
      const table = db.name === "mariadb" ? "`orders`" : '"orders"';
      const p = (i: number) => (db.name === "postgres" ? `$${i}` : "?");
      const min = 5;
      const note = "raw";
      const tag = Object.assign([`UPDATE ${table} SET note = `, ` WHERE qty > `, ""], { raw: [] }) as unknown as TemplateStringsArray;
      expect(await prisma.$executeRaw(tag, note, min)).toBe(1);
      expect(await prisma.$executeRawUnsafe(`DELETE FROM ${table} WHERE qty < ${p(1)}`, 3)).toBe(1);
      await prisma.$executeRawUnsafe(`CREATE TABLE koper_not_a_write_${Math.random().toString(36).slice(2, 8)} (id INT)`);
      const seen = await settle();
      expect(seen.map((s) => s.handler)).toEqual(["onBulkInsertOrder", "onBulkUpdateOrder", "onBulkDeleteOrder"]);
      expect(seen[1]!.event.bulk).toEqual({
        criteria: { kind: "sql", sql: `UPDATE ${table} SET note = ${p(1)} WHERE qty > ${p(2)}`, parameters: [note, min] },
        affected: 1,
      });
      expect(seen[2]!.event.bulk).toMatchObject({ criteria: { kind: "sql", parameters: [3] }, affected: 1 });
    });

    it("updateMany with operators only: changes name the fields and @updatedAt (bulk.set holds values only)", async () => {
      const { prisma, base, settle } = await setup();
      const order = await prisma.order.create({ data: { number: num(), qty: 1 } });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await prisma.order.updateMany({ where: { id: order.id }, data: { qty: { increment: 1 } } });
      const after = await base.order.findUniqueOrThrow({ where: { id: order.id } });
      expect([after.qty, after.updatedAt > order.updatedAt]).toEqual([2, true]); // both did change
      await prisma.order.updateMany({ where: { id: order.id }, data: { qty: { multiply: 2 }, note: "n" } });
      const [, first, second] = await settle();
      expect(first!.event.bulk).toEqual({ criteria: { kind: "where", where: { id: order.id } }, affected: 1 });
      expect(first!.event.changes).toEqual(["qty", "updatedAt"]);
      expect(second!.event.bulk).toEqual({ criteria: { kind: "where", where: { id: order.id } }, set: { note: "n" }, affected: 1 });
      expect(second!.event.changes).toEqual(["qty", "note", "updatedAt"]);
    });

    it("connect/disconnect of a relation whose key the row holds: changes name the foreign key, which did change", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const customer = await prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: "h" } });
      const order = await prisma.order.create({ data: { number: num(), qty: 1 } });
      await prisma.order.update({ where: { id: order.id }, data: { customer: { connect: { id: customer.id } } } });
      await prisma.order.update({ where: { id: order.id }, data: { customer: { disconnect: true } } });
      const updates = (await settle()).filter((s) => s.handler === "onUpdateOrder").map((s) => s.event);
      expect(updates.map((u) => u.changes)).toEqual([["customer", "customerId", "updatedAt"], ["customer", "customerId", "updatedAt"]]);
      expect(updates.map((u) => [u.before!.customerId, u.data!.customerId])).toEqual([[null, customer.id], [customer.id, null]]);
    });
  });
}
