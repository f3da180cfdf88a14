import { koperPrisma } from "@koper/prisma";
import { describe, expect, it } from "vitest";
import type { PrismaDatabase } from "./databases.ts";
import { RecordingTransport } from "../contract/RecordingTransport.ts";
import { num, usePrismaSetup } from "./setup.ts";

/** Prisma's errors: unchanged for the app, structured (never Prisma's message) in the event. */
export function runPrismaFailures(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma failures: ${db.name}`, () => {
    const setup = usePrismaSetup(db);

    it("the app gets Prisma's error unchanged: same class, code, meta and message as without Koper", async () => {
      const { prisma, base, settle } = await setup();
      const number = num();
      await base.order.create({ data: { number, qty: 1 } });
      const attempt = (client: typeof base) => client.order.create({ data: { number, qty: 2 } }).then(() => undefined, (e: unknown) => e as Error & { code: string; meta: unknown });
      const withKoper = await attempt(prisma as unknown as typeof base);
      const without = await attempt(base);
      expect(withKoper!.constructor).toBe(without!.constructor);
      expect(withKoper!.code).toBe("P2002");
      expect(withKoper!.code).toBe(without!.code);
      expect(JSON.stringify(withKoper!.meta)).toBe(JSON.stringify(without!.meta));
      const [failed] = await settle();
      expect(failed!.event.error).toMatchObject({ code: "unique_violation", name: "PrismaClientKnownRequestError" });
      expect(failed!.event.error!.message).toMatch(/^P2002 in Order\.create \(UniqueConstraintViolation, code \S+/);
      expect(failed!.event.error!.message).not.toContain("prisma-failures.ts"); // Prisma's message has a code frame
    });

    it("a validation error's event names the argument, never the values Prisma's message quotes", async () => {
      const { prisma, settle } = await setup({}, { redact: { Customer: ["passwordHash"] } });
      const secret = `s3cr3t-${num()}`;
      const error = await prisma.customer.create({ data: { passwordHash: secret } as never }).catch((e: Error) => e);
      expect((error as Error).name).toBe("PrismaClientValidationError");
      expect((error as Error).message).toContain(secret); // Prisma quotes the arguments …
      const [failed] = await settle();
      expect(failed!.handler).toBe("onInsertCustomer_X");
      expect(failed!.event.error).toMatchObject({ code: "validation_error", name: "PrismaClientValidationError" });
      expect(failed!.event.error!.message).toBe("PrismaClientValidationError in Customer.create: required argument `email` is missing or null");
      expect(JSON.stringify(failed!.event)).not.toContain(secret); // … the event does not
    });

    it("P2003 and P2025 keep their normalized codes; a failed updateMany reaches onBulkUpdateOrder_X", async () => {
      const { prisma, settle } = await setup();
      const [a, b] = [num(), num()];
      await prisma.order.createMany({ data: [{ number: a, qty: 1 }, { number: b, qty: 1 }] });
      await expect(prisma.order.create({ data: { number: num(), qty: 1, customerId: 424_242 } })).rejects.toMatchObject({ code: "P2003" });
      await expect(prisma.order.delete({ where: { id: 424_242 } })).rejects.toMatchObject({ code: "P2025" });
      await expect(prisma.order.updateMany({ where: { number: b }, data: { number: a } })).rejects.toMatchObject({ code: "P2002" });
      const seen = await settle();
      expect(seen.map((s) => [s.handler, s.event.error?.code ?? null])).toEqual([
        ["onBulkInsertOrder", null],
        ["onInsertOrder_X", "foreign_key_violation"],
        ["onDeleteOrder_X", "not_found"],
        ["onBulkUpdateOrder_X", "unique_violation"],
      ]);
      expect(seen[3]!.event.bulk).toEqual({ criteria: { kind: "where", where: { number: b } }, set: { number: a }, affected: null });
    });

    it("a failed upsert reports the branch that ran: update with args.update's values, insert with args.create's (autocommit and in a transaction)", async () => {
      const { prisma, settle } = await setup();
      const [taken, mine] = [num(), num()];
      await prisma.order.create({ data: { number: taken, qty: 1 } });
      const order = await prisma.order.create({ data: { number: mine, qty: 1 } });
      const upserts = (client: typeof prisma) => [
        client.order.upsert({ where: { id: order.id }, create: { number: num(), qty: 7 }, update: { number: taken } }), // update branch
        client.order.upsert({ where: { id: 987_654 }, create: { number: taken, qty: 8 }, update: { qty: 9 } }), // create branch
      ];
      for (const attempt of upserts(prisma)) await expect(attempt).rejects.toMatchObject({ code: "P2002" });
      for (const i of [0, 1]) {
        await expect(prisma.$transaction(async (tx) => upserts(tx as unknown as typeof prisma)[i])).rejects.toMatchObject({ code: "P2002" });
      }
      const failed = (await settle()).filter((s) => s.handler.endsWith("_X"));
      const update = { handler: "onUpdateOrder_X", key: { id: order.id }, data: { number: taken } };
      const insert = { handler: "onInsertOrder_X", key: null, data: { number: taken, qty: 8 } };
      expect(failed.map((s) => ({ handler: s.handler, key: s.event.key, data: s.event.data }))).toEqual([update, insert, update, insert]);
      expect(failed.map((s) => s.event.error?.code)).toEqual(["unique_violation", "unique_violation", "unique_violation", "unique_violation"]);
    });

    it("a failed autocommit upsert reads its row again only when the database refused it (not for a validation error)", async () => {
      const { base, koper, settle } = await setup();
      const readsOutsideTransactions: string[] = [];
      const counting = base.$extends({
        query: {
          order: {
            findUnique({ args, query, ...params }) {
              if ((params as { __internalParams?: { transaction?: unknown } }).__internalParams?.transaction === undefined) readsOutsideTransactions.push(JSON.stringify(args.where));
              return query(args);
            },
          },
        },
      });
      const prisma = counting.$extends(koperPrisma(koper)) as unknown as typeof base;
      const [taken, missing] = [num(), num()];
      await prisma.order.create({ data: { number: taken, qty: 1 } });
      await expect(prisma.order.upsert({ where: { number: missing }, create: { number: missing, qty: "one" as never }, update: { qty: 2 } })).rejects.toMatchObject({ name: "PrismaClientValidationError" });
      expect(readsOutsideTransactions).toEqual([]); // nothing ran: nothing to tell apart
      await expect(prisma.order.upsert({ where: { number: missing }, create: { number: taken, qty: 1 }, update: { qty: 2 } })).rejects.toMatchObject({ code: "P2002" });
      expect(readsOutsideTransactions).toEqual([JSON.stringify({ number: missing })]);
      // A record the call needs is not there: the database answered, the branch is read too.
      await expect(prisma.order.upsert({ where: { number: taken }, create: { number: taken, qty: 1 }, update: { customer: { connect: { id: 424_242 } } } })).rejects.toMatchObject({ code: "P2025" });
      expect(readsOutsideTransactions).toEqual([JSON.stringify({ number: missing }), JSON.stringify({ number: taken })]);
      const failed = (await settle()).filter((s) => s.handler.endsWith("_X"));
      // The validation error's branch is unknown (not read): reported as in a batch, an update with args.create's values.
      expect(failed.map((s) => [s.handler, s.event.error?.code])).toEqual([["onUpdateOrder_X", "validation_error"], ["onInsertOrder_X", "unique_violation"], ["onUpdateOrder_X", "not_found"]]);
      expect(failed[0]!.event.data).toEqual({ number: missing, qty: "one" });
    });

    it("a refused createMany or createManyAndReturn publishes one failure per attempted row (onInsertCustomer_X), redacted: the secret is in no published byte", async () => {
      const transport = new RecordingTransport();
      const { prisma, base, settle } = await setup({}, { transport, redact: { Customer: ["passwordHash"] } });
      const secret = (i: number) => `s3cr3t-${i}-${num()}`;
      const taken = `${num()}@x`;
      await prisma.customer.create({ data: { email: taken, passwordHash: secret(0) } });
      const [a, b] = [`${num()}@x`, `${num()}@x`];
      const id = 700_001;
      const duplicate = [{ email: a, passwordHash: secret(1) }, { id, email: taken, passwordHash: secret(2) }, { email: b, passwordHash: secret(3), profile: { tier: 1 } }];
      await expect(prisma.customer.createMany({ data: duplicate })).rejects.toMatchObject({ code: "P2002" });
      // A missing required value: Prisma refuses the whole call before any SQL.
      await expect(prisma.customer.createMany({ data: [{ email: a, passwordHash: secret(4) }, { email: b, passwordHash: null as never }] })).rejects.toMatchObject({ name: "PrismaClientValidationError" });
      // In a transaction, and createManyAndReturn (not on MariaDB: Prisma has none there).
      await expect(prisma.$transaction((tx) => tx.customer.createMany({ data: [{ email: taken, passwordHash: secret(5) }] }))).rejects.toMatchObject({ code: "P2002" });
      if (db.name !== "mariadb") await expect(prisma.customer.createManyAndReturn({ data: [{ email: a, passwordHash: secret(6) }, { email: taken, passwordHash: secret(7) }] })).rejects.toMatchObject({ code: "P2002" });
      expect(await base.customer.count()).toBe(1); // every call failed as a whole
      const failed = (await settle()).filter((s) => s.handler !== "onInsertCustomer");
      const expected: [string, unknown, unknown, string][] = [
        ["onInsertCustomer_X", null, { email: a }, "unique_violation"],
        ["onInsertCustomer_X", { id }, { id, email: taken }, "unique_violation"],
        ["onInsertCustomer_X", null, { email: b, profile: { tier: 1 } }, "unique_violation"],
        ["onInsertCustomer_X", null, { email: a }, "validation_error"],
        ["onInsertCustomer_X", null, { email: b }, "validation_error"],
        ["onInsertCustomer_X", null, { email: taken }, "unique_violation"],
      ];
      if (db.name !== "mariadb") expected.push(["onInsertCustomer_X", null, { email: a }, "unique_violation"], ["onInsertCustomer_X", null, { email: taken }, "unique_violation"]);
      expect(failed.map((s) => [s.handler, s.event.key, s.event.data, s.event.error?.code])).toEqual(expected);
      expect(failed.every((s) => s.event.outcome === "failed" && s.event.action === "insert" && s.event.bulk === undefined)).toBe(true);
      expect(transport.sent.length).toBeGreaterThan(expected.length);
      for (const i of [0, 1, 2, 3, 4, 5, 6, 7]) expect(transport.carrying(`s3cr3t-${i}-`)).toEqual([]);
    });

    it("with bulk: false a refused createMany publishes nothing (as its success would), a refused createManyAndReturn its rows", async () => {
      const { prisma, settle } = await setup({ bulk: false });
      const taken = num();
      await prisma.order.create({ data: { number: taken, qty: 1 } });
      await expect(prisma.order.createMany({ data: [{ number: num(), qty: 1 }, { number: taken, qty: 2 }] })).rejects.toMatchObject({ code: "P2002" });
      if (db.name !== "mariadb") await expect(prisma.order.createManyAndReturn({ data: [{ number: taken, qty: 3 }] })).rejects.toMatchObject({ code: "P2002" });
      const failed = (await settle()).filter((s) => s.handler !== "onInsertOrder");
      expect(failed.map((s) => [s.handler, s.event.data])).toEqual(db.name === "mariadb" ? [] : [["onInsertOrder_X", { number: taken, qty: 3 }]]);
    });
  });
}
