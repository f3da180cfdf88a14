import type { DataEvent } from "@koper/core";
import { describe, expect, it } from "vitest";
import type { PrismaDatabase } from "./databases.ts";
import { num, usePrismaSetup } from "./setup.ts";

/** The parent's `changes` when a nested write re-points (or leaves) a foreign key the parent holds. */
export function runPrismaParentChanges(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma parent changes: ${db.name}`, () => {
    const setup = usePrismaSetup(db);
    const customer = () => {
      const email = `${num()}@x`;
      return { email, upsert: { create: { email, passwordHash: "h" }, update: { passwordHash: "h2" } }, connectOrCreate: { where: { email }, create: { email, passwordHash: "h" } } };
    };
    // The scalar fields whose value differs between `before` and `data` (`updatedAt` aside: two writes may share a millisecond).
    const differing = (event: DataEvent) => Object.keys(event.data!).filter((f) => f !== "updatedAt" && JSON.stringify(event.data![f]) !== JSON.stringify(event.before![f]));

    for (const options of [{}, { exclude: ["Customer"] }, { bulk: false }]) {
      it(`a to-one upsert whose key the parent holds changes the foreign key and @updatedAt only when it creates; a connectOrCreate always re-links (${JSON.stringify(options)})`, async () => {
        const { prisma, base, settle } = await setup({ captureBefore: true, ...options });
        const [a, b] = [customer(), customer()];
        const order = await prisma.order.create({ data: { number: num(), qty: 1 } });
        const other = await prisma.order.create({ data: { number: num(), qty: 1 } });
        const update = (id: number, data: object) => prisma.order.update({ where: { id }, data });
        await update(order.id, { customer: { upsert: a.upsert } }); // creates a, links it
        await update(order.id, { customer: { upsert: a.upsert } }); // updates a in place
        await prisma.$transaction(async (tx) => tx.order.update({ where: { id: order.id }, data: { qty: 2, customer: { upsert: a.upsert } } }));
        await update(other.id, { customer: { connectOrCreate: b.connectOrCreate } }); // creates b
        await update(other.id, { customer: { connectOrCreate: a.connectOrCreate } }); // finds a
        await prisma.order.upsert({ where: { id: other.id }, create: { number: num(), qty: 1 }, update: { customer: { upsert: b.upsert } } }); // a updated in place
        expect((await base.customer.findMany({ orderBy: { id: "asc" } })).map((c) => [c.email, c.passwordHash])).toEqual([[a.email, "h2"], [b.email, "h"]]);
        const updates = (await settle()).filter((s) => s.handler === "onUpdateOrder").map((s) => s.event);
        const fk = ["customer", "customerId", "updatedAt"];
        expect(updates.map((e) => e.changes)).toEqual([fk, ["customer"], ["qty", "customer", "updatedAt"], fk, fk, ["customer"]]);
        expect(updates.map(differing)).toEqual([["customerId"], [], ["qty"], ["customerId"], ["customerId"], []]);
        // In place: the row was not written at all.
        for (const i of [1, 5]) expect(updates[i]!.data!.updatedAt).toEqual(updates[i]!.before!.updatedAt);
      });
    }

    it("in a batch $transaction([...]), where the upsert's branch cannot be read, the foreign key and @updatedAt are named (the write may have changed them)", async () => {
      const { prisma, settle } = await setup();
      const a = customer();
      const order = await prisma.order.create({ data: { number: num(), qty: 1 } });
      await prisma.$transaction([prisma.order.update({ where: { id: order.id }, data: { customer: { upsert: a.upsert } } })]);
      const [updated] = (await settle()).filter((s) => s.handler === "onUpdateOrder");
      expect(updated!.event.changes).toEqual(["customer", "customerId", "updatedAt"]);
    });
  });
}
