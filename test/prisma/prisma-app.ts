import { randomUUID } from "node:crypto";
import { DataListener, type DataEvent } from "@koper/core";
import { describe, expect, it } from "vitest";
import type { PrismaDatabase } from "./databases.ts";
import { usePrismaSetup, type Seen } from "./setup.ts";
import type { Prisma } from "./sqlite/generated/client.ts";

const APP_MODELS = ["Category", "Member", "Team", "Membership"] as const;

/** A listener of the app-shaped models: every handler of every action, kind and outcome. */
@DataListener({ entity: [...APP_MODELS] })
export class AppRecorder {
  readonly seen: Seen[] = [];

  constructor() {
    const self = this as unknown as Record<string, (...args: unknown[]) => void>;
    for (const entity of APP_MODELS) {
      for (const action of ["Insert", "Update", "Delete"]) {
        for (const failed of ["", "_X"]) {
          const row = `on${action}${entity}${failed}`;
          const bulk = `onBulk${action}${entity}${failed}`;
          self[row] = (_row, event) => void this.seen.push({ handler: row, event: event as DataEvent });
          self[bulk] = (event) => void this.seen.push({ handler: bulk, event: event as DataEvent });
        }
      }
    }
  }
}

/** Every call in the order Koper recorded the events (ids are time-ordered, monotonic). */
export function inOrder(seen: Seen[]): Seen[] {
  return [...seen].sort((a, b) => (a.event.id < b.event.id ? -1 : 1));
}

export const where = (w: object) => ({ kind: "where", where: w });
export const email = () => `${randomUUID().slice(0, 8)}@app.io`;
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * The trial of an application's models, its relations: a self-relation tree (parent/children) and
 * a self many-to-many (follows). Each test does what an application writes and checks every
 * event's data, before, changes and key, and that bulk criteria select the rows written.
 * (Keys the app sets, a composite key, enum, BigInt, Decimal: prisma-app-values.ts.)
 */
export function runPrismaApp(db: PrismaDatabase): void {
  describe.skipIf(db.skip !== undefined)(`prisma app models: ${db.name}`, () => {
    const setup = usePrismaSetup(db, () => new AppRecorder());

    it("a tree: a nested create of children publishes each child's insert with its parentId; a to-one parent create comes first", async () => {
      const { prisma, settle } = await setup();
      const root = await prisma.category.create({ data: { name: "root", children: { create: [{ name: "a" }, { name: "b" }] } } });
      expect(root).not.toHaveProperty("children");
      const c = await prisma.category.create({ data: { name: "c", parent: { connect: { id: root.id } } } });
      const leaf = await prisma.category.create({ data: { name: "leaf", parent: { create: { name: "mid", parentId: root.id } } } });
      const seen = inOrder(await settle());
      expect(seen.map((s) => [s.handler, s.event.data!.name, s.event.data!.parentId])).toEqual([
        ["onInsertCategory", "root", null],
        ["onInsertCategory", "a", root.id],
        ["onInsertCategory", "b", root.id],
        ["onInsertCategory", "c", root.id],
        ["onInsertCategory", "mid", root.id],
        ["onInsertCategory", "leaf", leaf.parentId],
      ]);
      expect(seen[3]!.event.key).toEqual({ id: c.id });
      expect(seen[4]!.event.key).toEqual({ id: leaf.parentId });
      for (const { event } of seen) {
        expect(Object.keys(event.data!).sort()).toEqual(["id", "name", "parentId", "updatedAt"]);
        expect(event.data!.updatedAt).toBeInstanceOf(Date);
      }
      expect(new Set(seen.slice(0, 3).map((s) => s.event.transaction.id)).size).toBe(1);
    });

    it("a tree: connect, disconnect and set on children re-link the child rows (bulk updates of parentId); the parent's row is untouched", async () => {
      const { prisma, base, settle } = await setup();
      const root = await prisma.category.create({ data: { name: "root" } });
      const [a, b, c] = [await prisma.category.create({ data: { name: "a" } }), await prisma.category.create({ data: { name: "b" } }), await prisma.category.create({ data: { name: "c" } })];
      const parents = async () => (await base.category.findMany({ where: { id: { in: [a.id, b.id, c.id] } }, orderBy: { id: "asc" } })).map((r) => r.parentId);
      await pause();
      const linked = await prisma.category.update({ where: { id: root.id }, data: { children: { connect: [{ id: a.id }, { id: b.id }] } } });
      expect(await parents()).toEqual([root.id, root.id, null]);
      expect(linked.updatedAt).toEqual(root.updatedAt); // Prisma writes the children's rows, not the parent's
      await prisma.category.update({ where: { id: root.id }, data: { children: { disconnect: [{ id: a.id }] } } });
      expect(await parents()).toEqual([null, root.id, null]);
      await prisma.category.update({ where: { id: root.id }, data: { children: { set: [{ id: c.id }] } } });
      expect(await parents()).toEqual([null, null, root.id]);
      const seen = inOrder(await settle()).slice(4);
      expect(seen.map((s) => s.handler)).toEqual([
        "onUpdateCategory", "onBulkUpdateCategory", "onBulkUpdateCategory",
        "onUpdateCategory", "onBulkUpdateCategory",
        "onUpdateCategory", "onBulkUpdateCategory", "onBulkUpdateCategory",
      ]);
      for (const i of [0, 3, 5]) {
        expect(seen[i]!.event).toMatchObject({ key: { id: root.id }, changes: ["children"] });
        expect(seen[i]!.event.data!.updatedAt).toEqual(root.updatedAt);
      }
      const bulk = seen.filter((s) => s.event.bulk).map((s) => [s.event.bulk, s.event.changes]);
      expect(bulk).toEqual([
        [{ criteria: where({ id: a.id }), set: { parentId: root.id }, affected: null }, ["parentId", "updatedAt"]],
        [{ criteria: where({ id: b.id }), set: { parentId: root.id }, affected: null }, ["parentId", "updatedAt"]],
        [{ criteria: where({ id: a.id, parentId: root.id }), set: { parentId: null }, affected: null }, ["parentId"]],
        [{ criteria: where({ parentId: root.id }), set: { parentId: null }, affected: null }, ["parentId"]],
        [{ criteria: where({ id: c.id }), set: { parentId: root.id }, affected: null }, ["parentId", "updatedAt"]],
      ]);
    });

    it("a tree: children created under an update, or connected under a create, are events that name their parentId", async () => {
      const { prisma, base, settle } = await setup();
      const root = await prisma.category.create({ data: { name: "root" } });
      await prisma.category.update({ where: { id: root.id }, data: { children: { create: { name: "a" }, createMany: { data: [{ name: "b" }, { name: "c" }] } } } });
      const orphan = await prisma.category.create({ data: { name: "orphan" } });
      const adopter = await prisma.category.create({ data: { name: "adopter", children: { connect: { id: orphan.id } } } });
      expect((await base.category.findUniqueOrThrow({ where: { id: orphan.id } })).parentId).toBe(adopter.id);
      const seen = inOrder(await settle()).filter((s) => s.event.bulk);
      expect(seen.map((s) => [s.handler, s.event.bulk, s.event.changes ?? null])).toEqual([
        ["onBulkInsertCategory", { criteria: null, set: { name: "a", parentId: root.id }, affected: null }, null],
        ["onBulkInsertCategory", { criteria: null, set: { parentId: root.id }, affected: null }, null],
        ["onBulkUpdateCategory", { criteria: where({ id: orphan.id }), set: { parentId: adopter.id }, affected: null }, ["parentId", "updatedAt"]],
      ]);
    });

    it("a tree: nested updateMany/deleteMany on children touch the parent's children only, and their criteria select exactly those", async () => {
      const { prisma, base, settle } = await setup();
      const root = await prisma.category.create({ data: { name: "root", children: { create: [{ name: "a" }, { name: "b" }] } } });
      const other = await prisma.category.create({ data: { name: "other", children: { create: [{ name: "a" }] } } });
      const ids = async (w: Prisma.CategoryWhereInput) => (await base.category.findMany({ where: w, orderBy: { id: "asc" } })).map((r) => r.id);
      const renaming = await ids({ name: "a", parentId: root.id });
      await prisma.category.update({ where: { id: root.id }, data: { children: { updateMany: { where: { name: "a" }, data: { name: "z" } } } } });
      expect(await ids({ name: "z" })).toEqual(renaming);
      const deleting = await ids({ parentId: root.id });
      await prisma.category.update({ where: { id: root.id }, data: { children: { deleteMany: {} } } });
      expect(await ids({})).toEqual([root.id, other.id, other.id + 1]);
      expect(deleting).toHaveLength(2);
      const seen = (await settle()).filter((s) => s.event.bulk);
      expect(seen.map((s) => [s.handler, s.event.bulk, s.event.changes ?? null])).toEqual([
        ["onBulkUpdateCategory", { criteria: where({ name: "a", parentId: root.id }), set: { name: "z" }, affected: null }, ["name", "updatedAt"]],
        ["onBulkDeleteCategory", { criteria: where({ parentId: root.id }), affected: null }, null],
      ]);
    });

    it("a tree: deleting a parent publishes its delete with before; the children the database cascades publish nothing (documented)", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const root = await prisma.category.create({ data: { name: "root", children: { create: [{ name: "a" }] } } });
      await prisma.category.update({ where: { id: root.id }, data: { name: "Root" } });
      const deleted = await prisma.category.delete({ where: { id: root.id } });
      const seen = inOrder(await settle());
      expect(seen.map((s) => s.handler)).toEqual(["onInsertCategory", "onInsertCategory", "onUpdateCategory", "onDeleteCategory"]);
      expect(seen[2]!.event).toMatchObject({ key: { id: root.id }, changes: ["name", "updatedAt"], before: { name: "root" }, data: { name: "Root" } });
      expect(seen[3]!.event).toMatchObject({ key: { id: root.id }, data: null, before: { id: root.id, name: "Root", parentId: null, updatedAt: deleted.updatedAt } });
    });

    it("a tree: updateMany and deleteMany by parentId are bulk events with the criteria and the count", async () => {
      const { prisma, settle } = await setup();
      const root = await prisma.category.create({ data: { name: "root", children: { create: [{ name: "a" }, { name: "b" }] } } });
      await prisma.category.updateMany({ where: { parentId: root.id }, data: { name: "child" } });
      await prisma.category.deleteMany({ where: { parentId: root.id, name: "child" } });
      const seen = inOrder(await settle()).slice(3);
      expect(seen.map((s) => [s.handler, s.event.bulk, s.event.changes ?? null])).toEqual([
        ["onBulkUpdateCategory", { criteria: where({ parentId: root.id }), set: { name: "child" }, affected: 2 }, ["name", "updatedAt"]],
        ["onBulkDeleteCategory", { criteria: where({ parentId: root.id, name: "child" }), affected: 2 }, null],
      ]);
    });

    it("follows (a self many-to-many): connect, disconnect and set publish only the member's update, its changes naming the relation", async () => {
      const { prisma, base, settle } = await setup();
      const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of [alice, bob, carol]) await prisma.member.create({ data: { id, email: email() } });
      await prisma.member.update({ where: { id: alice }, data: { following: { connect: [{ id: bob }, { id: carol }] } } });
      await prisma.member.update({ where: { id: alice }, data: { following: { disconnect: { id: bob } } } });
      await prisma.member.update({ where: { id: bob }, data: { followers: { set: [{ id: carol }] } } });
      const follows = await base.member.findUniqueOrThrow({ where: { id: alice }, include: { following: true } });
      expect(follows.following.map((m) => m.id)).toEqual([carol]);
      expect((await base.member.findUniqueOrThrow({ where: { id: bob }, include: { followers: true } })).followers.map((m) => m.id)).toEqual([carol]);
      const seen = inOrder(await settle()).slice(3);
      expect(seen.map((s) => [s.handler, s.event.key, s.event.changes])).toEqual([
        ["onUpdateMember", { id: alice }, ["following"]],
        ["onUpdateMember", { id: alice }, ["following"]],
        ["onUpdateMember", { id: bob }, ["followers"]],
      ]);
    });

    it("follows: a nested deleteMany on following deletes (and names) only the members this one follows", async () => {
      const { prisma, base, settle } = await setup();
      const [alice, bob, carol, dave] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      for (const id of [alice, bob, carol, dave]) await prisma.member.create({ data: { id, email: email() } });
      await prisma.member.update({ where: { id: alice }, data: { following: { connect: [{ id: bob }, { id: carol }] } } });
      await prisma.member.update({ where: { id: dave }, data: { following: { connect: [{ id: alice }] } } });
      await prisma.member.update({ where: { id: alice }, data: { following: { deleteMany: {} } } });
      expect((await base.member.findMany({ orderBy: { email: "asc" } })).map((m) => m.id).sort()).toEqual([alice, dave].sort());
      const [deleted] = (await settle()).filter((s) => s.handler === "onBulkDeleteMember").map((s) => s.event);
      expect(deleted!.bulk).toEqual({ criteria: where({ followers: { some: { id: alice } } }), affected: null });
    });

    it("follows: the nested criteria select exactly the rows Prisma wrote (run as a findMany before the write)", async () => {
      const { prisma, base, settle } = await setup();
      const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of [alice, bob, carol]) await prisma.member.create({ data: { id, email: email(), karma: 1 } });
      await prisma.member.update({ where: { id: bob }, data: { following: { connect: [{ id: alice }] } } });
      await prisma.member.update({ where: { id: alice }, data: { followers: { updateMany: { where: {}, data: { karma: { increment: 10 } } } } } });
      const karma = Object.fromEntries((await base.member.findMany()).map((m) => [m.id, m.karma]));
      expect(karma).toEqual({ [alice]: 1n, [bob]: 11n, [carol]: 1n });
      const [updated] = (await settle()).filter((s) => s.handler === "onBulkUpdateMember").map((s) => s.event);
      const criteria = (updated!.bulk!.criteria as { where: Prisma.MemberWhereInput }).where;
      expect(criteria).toEqual({ following: { some: { id: alice } } });
      expect((await base.member.findMany({ where: criteria })).map((m) => m.id)).toEqual([bob]);
      expect(updated!.changes).toEqual(["karma", "updatedAt"]);
    });

    it("a tree: re-parenting a category by connect names the relation, its parentId and @updatedAt", async () => {
      const { prisma, settle } = await setup({ captureBefore: true });
      const [a, b] = [await prisma.category.create({ data: { name: "a" } }), await prisma.category.create({ data: { name: "b" } })];
      await prisma.category.update({ where: { id: b.id }, data: { parent: { connect: { id: a.id } } } });
      await prisma.category.update({ where: { id: b.id }, data: { parent: { disconnect: true } } });
      const updates = inOrder(await settle()).filter((s) => s.handler === "onUpdateCategory").map((s) => s.event);
      expect(updates.map((u) => [u.changes, u.before!.parentId, u.data!.parentId])).toEqual([
        [["parent", "parentId", "updatedAt"], null, a.id],
        [["parent", "parentId", "updatedAt"], a.id, null],
      ]);
    });
  });
}
