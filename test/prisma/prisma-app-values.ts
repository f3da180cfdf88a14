import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { PrismaDatabase } from "./databases.ts";
import { AppRecorder, email, inOrder, where } from "./prisma-app.ts";
import { usePrismaSetup } from "./setup.ts";
import { Prisma } from "./sqlite/generated/client.ts";

/**
 * The trial of an application's models, its keys and values: a uuid key the app sets, a composite
 * @@id, an enum, BigInt, Decimal and @updatedAt columns. Each event's key, data, before and changes,
 * and the values' types (bigint, Decimal as its plain string, Date, the enum's name).
 */
export function runPrismaAppValues(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma app values: ${db.name}`, () => {
    const setup = usePrismaSetup(db, () => new AppRecorder());

    it("a member with an app-set uuid key, an enum, a BigInt and a Decimal: each event's values are typed (bigint, Decimal as its string, Date, the enum's name)", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const id = randomUUID();
      // libSQL reads integers as numbers (a RangeError above 2^53, with Koper or without); the servers give them exactly.
      const big = db.name === "sqlite" ? 9_007_199_254_740_990n : 9_007_199_254_740_993n;
      const created = await prisma.member.create({ data: { id, email: email(), role: "OWNER", karma: big, balance: new Prisma.Decimal("12.50") } });
      expect(created.balance).toBeInstanceOf(Prisma.Decimal);
      await prisma.member.update({ where: { id }, data: { karma: { increment: 1 }, balance: "0.10", role: "MEMBER" } });
      await prisma.member.delete({ where: { id } });
      const [insert, update, del] = inOrder(await settle());
      expect(insert!.event).toMatchObject({ action: "insert", key: { id } });
      const data = insert!.event.data!;
      expect(data).toEqual({ id, email: created.email, role: "OWNER", karma: big, balance: "12.5", joinedAt: created.joinedAt, updatedAt: created.updatedAt });
      expect([typeof data.karma, data.joinedAt instanceof Date]).toEqual(["bigint", true]);
      expect(update!.event).toMatchObject({ key: { id }, changes: ["karma", "balance", "role", "updatedAt"] });
      expect(update!.event.before).toMatchObject({ karma: big, balance: "12.5", role: "OWNER" });
      expect(update!.event.data).toMatchObject({ karma: big + 1n, balance: "0.1", role: "MEMBER" });
      expect(update!.event.data!.updatedAt).toBeInstanceOf(Date);
      expect(del!.event).toMatchObject({ key: { id }, data: null, before: { karma: big + 1n, balance: "0.1" } });
    });

    it("a Decimal arrives as its exact string in plain notation (never 1e-8), in data, before, bulk.set and a failure's data", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const [id, taken] = [randomUUID(), email()];
      const tiny = new Prisma.Decimal("0.00000001");
      expect(JSON.stringify(tiny)).toBe('"1e-8"'); // what Decimal's toJSON gives
      await prisma.member.create({ data: { id, email: taken, balance: tiny } });
      await prisma.member.update({ where: { id }, data: { balance: new Prisma.Decimal("0.00000002") } });
      await prisma.member.updateMany({ where: { id }, data: { balance: new Prisma.Decimal("3e-8") } });
      await expect(prisma.member.create({ data: { id: randomUUID(), email: taken, balance: new Prisma.Decimal("4e-8") } })).rejects.toMatchObject({ code: "P2002" });
      const [insert, update, bulk, failed] = inOrder(await settle()).map((s) => s.event);
      expect([insert!.data!.balance, update!.before!.balance, update!.data!.balance]).toEqual(["0.00000001", "0.00000001", "0.00000002"]);
      expect([bulk!.bulk!.set!.balance, failed!.data!.balance]).toEqual(["0.00000003", "0.00000004"]);
    });

    it("upsert by an app-set uuid and by a composite key: insert, then update with changes from args.update and before", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const id = randomUUID();
      const team = await prisma.team.create({ data: { name: `t-${randomUUID()}` } });
      const upsertMember = (karma: bigint) => prisma.member.upsert({ where: { id }, create: { id, email: email(), karma }, update: { karma } });
      await upsertMember(1n);
      await upsertMember(2n);
      const key = { memberId: id, teamId: team.id };
      const upsertMembership = (role: "OWNER" | "MEMBER") => prisma.membership.upsert({ where: { memberId_teamId: key }, create: { ...key, role }, update: { role } });
      await upsertMembership("MEMBER");
      await upsertMembership("OWNER");
      const seen = inOrder(await settle());
      expect(seen.map((s) => [s.handler, s.event.key])).toEqual([
        ["onInsertTeam", { id: team.id }],
        ["onInsertMember", { id }],
        ["onUpdateMember", { id }],
        ["onInsertMembership", key],
        ["onUpdateMembership", key],
      ]);
      expect(team.id).toMatch(/^[0-9a-f-]{36}$/); // @default(uuid()): Prisma's client made it
      expect(seen[2]!.event).toMatchObject({ changes: ["karma", "updatedAt"], before: { karma: 1n }, data: { karma: 2n } });
      expect(seen[4]!.event).toMatchObject({ changes: ["role"], before: { role: "MEMBER" }, data: { ...key, role: "OWNER" } });
      expect(seen[4]!.event.data!.since).toBeInstanceOf(Date);
    });

    it("a composite key: nested create under a member, update and delete by memberId_teamId, a refused duplicate keyed by its parts", async () => {
      const { prisma, settle } = await setup();
      const id = randomUUID();
      const team = await prisma.team.create({ data: { name: `t-${randomUUID()}` } });
      await prisma.member.create({ data: { id, email: email(), teams: { create: [{ teamId: team.id, role: "OWNER" }] } } });
      const key = { memberId: id, teamId: team.id };
      await expect(prisma.membership.create({ data: { ...key, role: "MEMBER" } })).rejects.toMatchObject({ code: "P2002" });
      await prisma.membership.update({ where: { memberId_teamId: key }, data: { role: "MEMBER" } });
      await prisma.membership.delete({ where: { memberId_teamId: key } });
      const seen = inOrder(await settle());
      expect(seen.map((s) => [s.handler, s.event.key])).toEqual([
        ["onInsertTeam", { id: team.id }],
        ["onInsertMember", { id }],
        ["onInsertMembership", key],
        ["onInsertMembership_X", key],
        ["onUpdateMembership", key],
        ["onDeleteMembership", key],
      ]);
      expect(seen[2]!.event.data).toMatchObject({ ...key, role: "OWNER" });
      expect(seen[3]!.event).toMatchObject({ data: { ...key, role: "MEMBER" }, error: { code: "unique_violation" } });
      expect(seen[4]!.event.changes).toEqual(["role"]); // no @updatedAt on Membership
      expect(seen[5]!.event.before).toMatchObject({ ...key, role: "MEMBER" });
    });

    it("a composite key under its parents: nested create, deleteMany and update through a member or a team name the rows by their own fields", async () => {
      const { prisma, base, settle } = await setup();
      const id = randomUUID();
      const [red, blue] = [await prisma.team.create({ data: { name: `red-${id}` } }), await prisma.team.create({ data: { name: `blue-${id}` } })];
      await prisma.member.create({ data: { id, email: email() } });
      await prisma.member.update({ where: { id }, data: { teams: { create: [{ teamId: red.id, role: "MEMBER" }, { teamId: blue.id, role: "OWNER" }] } } });
      const key = { memberId: id, teamId: red.id };
      await prisma.team.update({ where: { id: red.id }, data: { members: { update: { where: { memberId_teamId: key }, data: { role: "OWNER" } } } } });
      const criteria = { role: "OWNER" as const, memberId: id };
      const selected = await base.membership.findMany({ where: criteria, orderBy: { teamId: "asc" } });
      expect(selected).toHaveLength(2);
      await prisma.member.update({ where: { id }, data: { teams: { deleteMany: { role: "OWNER" } } } });
      expect(await base.membership.count()).toBe(0);
      const seen = inOrder(await settle()).filter((s) => s.event.entity === "Membership");
      expect(seen.map((s) => [s.handler, s.event.bulk, s.event.changes ?? null])).toEqual([
        ["onBulkInsertMembership", { criteria: null, set: { teamId: red.id, role: "MEMBER", memberId: id }, affected: null }, null],
        ["onBulkInsertMembership", { criteria: null, set: { teamId: blue.id, role: "OWNER", memberId: id }, affected: null }, null],
        // A compound unique selector (memberId_teamId) is a findUnique's, not a where's: its fields are named.
        ["onBulkUpdateMembership", { criteria: where(key), set: { role: "OWNER" }, affected: null }, ["role"]],
        ["onBulkDeleteMembership", { criteria: where(criteria), affected: null }, null],
      ]);
      expect(await base.membership.findMany({ where: (seen[2]!.event.bulk!.criteria as { where: Prisma.MembershipWhereInput }).where })).toEqual([]);
    });

    it("an upsert by a composite key in a batch: a bulk update whose criteria name the key's fields", async () => {
      const { prisma, base, settle } = await setup();
      const id = randomUUID();
      const team = await prisma.team.create({ data: { name: `t-${id}`, members: { create: { role: "MEMBER", member: { create: { id, email: email() } } } } } });
      const key = { memberId: id, teamId: team.id };
      await prisma.$transaction([prisma.membership.upsert({ where: { memberId_teamId: key }, create: { ...key, role: "OWNER" }, update: { role: "OWNER" } })]);
      const [upsert] = (await settle()).filter((s) => s.handler === "onBulkUpdateMembership").map((s) => s.event);
      expect(upsert!.bulk).toMatchObject({ criteria: where(key), set: { ...key, role: "OWNER" }, affected: 1 });
      expect(await base.membership.count({ where: (upsert!.bulk!.criteria as { where: Prisma.MembershipWhereInput }).where })).toBe(1);
    });

    it("createMany and createManyAndReturn of members: one bulk insert with the count (set when data is one object), or one row event per row", async () => {
      const { prisma, settle } = await setup();
      await prisma.member.createMany({ data: [{ id: randomUUID(), email: email(), karma: 5n }, { id: randomUUID(), email: email(), balance: "3.25" }] });
      const one = { id: randomUUID(), email: email(), role: "OWNER" as const, karma: 7n, balance: new Prisma.Decimal("1.5") };
      await prisma.member.createMany({ data: one });
      const rows = db.name === "mariadb" ? [] : await prisma.member.createManyAndReturn({ data: [{ id: randomUUID(), email: email(), balance: "2" }] });
      const seen = inOrder(await settle());
      expect(seen.slice(0, 2).map((s) => [s.handler, s.event.bulk])).toEqual([
        ["onBulkInsertMember", { criteria: null, affected: 2 }],
        ["onBulkInsertMember", { criteria: null, set: { ...one, balance: "1.5" }, affected: 1 }],
      ]);
      expect(typeof seen[1]!.event.bulk!.set!.karma).toBe("bigint");
      if (db.name !== "mariadb") {
        expect(seen.slice(2).map((s) => [s.handler, s.event.key, s.event.data!.balance, s.event.data!.karma])).toEqual([["onInsertMember", { id: rows[0]!.id }, "2", 0n]]);
      }
    });

    it("updateMany/deleteMany on members: the enum, BigInt and Decimal in criteria and set arrive typed", async () => {
      const { prisma, base, settle } = await setup();
      await prisma.member.createMany({ data: [{ id: randomUUID(), email: email(), karma: 5n, balance: "1" }, { id: randomUUID(), email: email(), role: "OWNER" }] });
      await prisma.member.updateMany({ where: { role: "MEMBER", karma: { gte: 5n } }, data: { balance: new Prisma.Decimal("9.99"), karma: { decrement: 1n } } });
      expect((await base.member.findFirstOrThrow({ where: { role: "MEMBER" } })).balance.toString()).toBe("9.99");
      await prisma.member.deleteMany({ where: { balance: { lt: new Prisma.Decimal("5") } } });
      const seen = inOrder(await settle()).slice(1);
      expect(seen.map((s) => [s.handler, s.event.bulk, s.event.changes ?? null])).toEqual([
        ["onBulkUpdateMember", { criteria: where({ role: "MEMBER", karma: { gte: 5n } }), set: { balance: "9.99" }, affected: 1 }, ["balance", "karma", "updatedAt"]],
        ["onBulkDeleteMember", { criteria: where({ balance: { lt: "5" } }), affected: 1 }, null],
      ]);
    });
  });
}
