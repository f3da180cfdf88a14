import type { DataEvent, Row } from "@koper/core";
import { describe, expect, it } from "vitest";
import { RecordingTransport } from "../contract/RecordingTransport.ts";
import type { Client, PrismaDatabase } from "./databases.ts";
import { num, usePrismaSetup } from "./setup.ts";

/** Prisma's client-wide `omit`: Koper never reads an omitted field on its own, and never invents one. */
export function runPrismaOmit(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma omit: ${db.name}`, () => {
    const setup = usePrismaSetup(db);
    const omit = { customer: { passwordHash: true } } as const;
    const secret = (i: number) => `s3cr3t-${i}-${num()}`;
    const andReturn = db.name !== "mariadb"; // Prisma has no createManyAndReturn/updateManyAndReturn on MySQL/MariaDB
    // The row as the database holds it, the omitted field included.
    const truth = (base: Client, id: number) => base.customer.findUniqueOrThrow({ where: { id }, omit: { passwordHash: false } });
    const rowsOf = (e: DataEvent) => [e.data, e.before, e.bulk?.set].filter((row): row is Row => Boolean(row));

    it("the omitted field is in no event (data, before, set) nor published byte, whatever the call's select/omit; changes name it only when the call writes it", async () => {
      const transport = new RecordingTransport();
      const { prisma, base, settle } = await setup({ captureBefore: true }, { transport }, { omit });
      const h = [0, 1, 2, 3, 4, 5, 6, 7].map(secret);
      const c = await prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: h[0]! } });
      expect(c).not.toHaveProperty("passwordHash"); // the app's results are as without Koper
      expect(await prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: h[1]! }, select: { id: true } })).toEqual({ id: expect.any(Number) });
      const states = [await truth(base, c.id)];
      const step = async (write: Promise<unknown>) => (await write, states.push(await truth(base, c.id)));
      await step(prisma.customer.update({ where: { id: c.id }, data: { email: `${num()}@x` }, select: { email: true } }));
      await step(prisma.customer.update({ where: { id: c.id }, data: { passwordHash: h[2]! } }));
      await step(prisma.customer.update({ where: { id: c.id }, data: { profile: { tier: 2 } }, omit: { email: true, passwordHash: true } }));
      await step(prisma.customer.upsert({ where: { id: c.id }, create: { email: `${num()}@x`, passwordHash: "never" }, update: { passwordHash: h[3]! } }));
      await prisma.customer.upsert({ where: { id: 987_654 }, create: { email: `${num()}@x`, passwordHash: h[4]! }, update: {} });
      await prisma.$transaction([prisma.customer.upsert({ where: { id: c.id }, create: { email: `${num()}@x`, passwordHash: "never" }, update: { profile: { tier: 3 } } })]);
      await prisma.order.create({ data: { number: num(), qty: 1, customer: { create: { email: `${num()}@x`, passwordHash: h[5]! } } } });
      if (andReturn) {
        const [made] = await prisma.customer.createManyAndReturn({ data: [{ email: `${num()}@x`, passwordHash: h[6]! }] });
        expect(made).not.toHaveProperty("passwordHash");
        await prisma.customer.updateManyAndReturn({ where: { id: made!.id }, data: { profile: { tier: 4 } } });
      }
      await prisma.customer.delete({ where: { id: c.id } });
      const events = (await settle()).filter((s) => s.event.entity === "Customer").map((s) => s.event);
      expect(events.map((e) => `${e.action}${e.bulk ? " bulk" : ""}`)).toEqual([
        "insert", "insert", "update", "update", "update", "update", "insert", "update bulk", "insert",
        ...(andReturn ? ["insert", "update"] : []), "delete",
      ]);
      for (const e of events) for (const row of rowsOf(e)) expect(row).not.toHaveProperty("passwordHash");
      for (const value of [...h, "never"]) expect(transport.carrying(value)).toEqual([]);
      expect(events.filter((e) => e.changes?.includes("passwordHash")).length).toBe(2); // the two updates that wrote it
      // Never a value the row does not hold: each update's before and data are parts of the row as it was and is.
      events.slice(2, 6).forEach((e, i) => {
        expect(states[i]).toMatchObject(e.before!);
        expect(states[i + 1]).toMatchObject(e.data!);
      });
    });

    it("a call that asks for the omitted field (select, omit: false) gets it, and so do its data and before; redact still keeps it out of every byte", async () => {
      const { prisma, base, settle } = await setup({ captureBefore: true }, {}, { omit });
      const c = await prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: "h0" } });
      const asked = await prisma.customer.update({ where: { id: c.id }, data: { passwordHash: "h1" }, omit: { passwordHash: false } });
      expect(asked).toEqual(await truth(base, c.id));
      expect(await prisma.customer.update({ where: { id: c.id }, data: { passwordHash: "h2" }, select: { passwordHash: true } })).toEqual({ passwordHash: "h2" });
      const updates = (await settle()).filter((s) => s.handler === "onUpdateCustomer").map((s) => s.event);
      expect(updates.map((e) => [e.before!.passwordHash, e.data!.passwordHash])).toEqual([["h0", "h1"], ["h1", "h2"]]);
      expect(updates[1]!.data).toEqual({ ...asked, passwordHash: "h2" }); // every scalar, as a select always gives

      const transport = new RecordingTransport();
      const redacted = await setup({ captureBefore: true }, { transport, redact: { Customer: ["passwordHash"] } }, { omit });
      const [s0, s1, s2, s3] = [0, 1, 2, 3].map(secret);
      const d = await redacted.prisma.customer.create({ data: { email: `${num()}@x`, passwordHash: s0! }, omit: { passwordHash: false } });
      await redacted.prisma.customer.update({ where: { id: d.id }, data: { passwordHash: s1! }, select: { passwordHash: true } });
      await redacted.prisma.customer.updateMany({ where: { passwordHash: s1! }, data: { passwordHash: s2! } });
      await expect(redacted.prisma.customer.createMany({ data: [{ email: d.email, passwordHash: s3! }] })).rejects.toMatchObject({ code: "P2002" });
      const seen = await redacted.settle();
      expect(seen.map((s) => s.handler)).toEqual(["onInsertCustomer", "onUpdateCustomer", "onBulkUpdateCustomer", "onInsertCustomer_X"]);
      for (const value of [s0, s1, s2, s3]) expect(transport.carrying(value!)).toEqual([]);
    });
  });
}
