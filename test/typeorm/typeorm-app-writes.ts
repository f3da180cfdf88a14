import { randomUUID } from "node:crypto";
import type { DataEvent } from "@koper/core";
import { describe, expect, it } from "vitest";
import { Money, Tier } from "./app-entities.ts";
import { newMember, rows, unique, useApp } from "./app-world.ts";
import type { Database } from "./databases.ts";

const sorted = (fields: readonly string[] | undefined) => [...(fields ?? [])].sort();

/**
 * The app-shaped model (app-entities.ts) through TypeORM's relation, criteria and statement writes:
 * many-to-many, to-one relations set by query builder or criteria, increment, orIgnore/orUpdate,
 * upsert, generated uuid keys and trees. One event per row written, bulk events for criteria writes.
 */
export function runTypeormAppWrites(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`typeorm app, writes: ${db.name}`, () => {
    const world = useApp(db);

    it("many-to-many of an inherited child: junction events named after the entity that declares the relation (PostLabels), by save of a loaded collection and the relation query builder", async () => {
      const w = await world({}, { entities: ["Post", "Label"] });
      const m = w.dataSource.manager;
      const { Label, Post } = w.app;
      const [a, b, c] = await m.save(["a", "b", "c"].map((name) => m.create(Label, { name: unique(name) })));
      const post = await m.save(m.create(Post, { title: "Tagged", body: null, labels: [a!] }));
      const loaded = await m.findOneOrFail(Post, { where: { id: post.id }, relations: { labels: true } });
      loaded.labels = [b!];
      await m.save(loaded); // only the collection changed: junction events alone
      await m.createQueryBuilder().relation(Post, "labels").of(post).add(c!);
      await m.createQueryBuilder().relation(Post, "labels").of(post).addAndRemove([a!], [b!]);
      const calls = (await w.settle()).filter((call) => call.event.entity !== "Label");
      const pair = (label: { id: string }) => ({ post_ref: post.id, label_ref: label.id });
      expect(rows(calls)).toEqual([
        ["onInsertPost", { id: post.id }],
        ["onInsertPostLabels", pair(a!)],
        ["onInsertPostLabels", pair(b!)],
        ["onDeletePostLabels", pair(a!)],
        ["onInsertPostLabels", pair(c!)],
        ["onBulkDeletePostLabels", null], // addAndRemove removes first
        ["onInsertPostLabels", pair(a!)],
      ]);
      expect(calls[3]!.event.before).toEqual(pair(a!));
      expect(calls[5]!.event.bulk).toMatchObject({ affected: 1, criteria: { kind: "sql", parameters: expect.arrayContaining([b!.id]) } });
      expect(new Set(w.published().map((e) => e.entity))).toEqual(new Set(["Label", "Post", "PostLabels"]));
    });

    it("a to-one relation set by the relation query builder or in criteria writes: the join column by the related key, never the related entity's fields", async () => {
      const w = await world({ redact: { Member: ["passwordHash"] } });
      const m = w.dataSource.manager;
      const { Post, Reaction } = w.app;
      const ada = await newMember(w);
      const post = await m.save(m.create(Post, { title: "Owned", body: null }));
      await m.createQueryBuilder().relation(Post, "author").of(post).set(ada);
      await m.createQueryBuilder().relation(Post, "author").of(post).set(null);
      await m.update(Post, { id: post.id }, { author: ada } as never);
      await m.update(Post, { author: ada } as never, { body: "by ada" });
      await m.save(m.create(Reaction, { member: ada, content: post, kind: "+1" }));
      await m.delete(Reaction, { member: ada } as never);
      const calls = (await w.settle()).filter((c) => c.event.bulk);
      // The relation query builder updates through the class that declares the relation (Content).
      expect(calls.map((c) => c.handler)).toEqual(["onBulkUpdateContent", "onBulkUpdateContent", "onBulkUpdatePost", "onBulkUpdatePost", "onBulkDeleteReaction"]);
      const bulks = calls.map((c) => c.event.bulk!);
      expect(bulks.slice(0, 3).map((bulk) => bulk.set)).toEqual([{ author_id: ada.id }, { author_id: null }, { author_id: ada.id }]);
      expect(bulks[3]!.criteria).toEqual({ kind: "where", where: { author: { id: ada.id } } });
      expect(bulks[4]!.criteria).toEqual({ kind: "where", where: { member: { id: ada.id } } });
      expect(bulks.map((bulk) => bulk.affected)).toEqual([1, 1, 1, 1, 1]);
      expect(w.carrying(ada.passwordHash)).toEqual([]);
      expect(w.carrying(ada.email).filter((text) => !text.includes('"entity":"Member"') && !text.includes("koper.Member"))).toEqual([]);
    });

    it("increment and decrement: bulk updates with the SQL expression, changes naming the auto-set columns too", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Member } = w.app;
      const member = await newMember(w);
      await m.increment(Member, { id: member.id }, "logins", 5);
      await m.getRepository(Member).decrement({ id: member.id }, "logins", 2);
      const [, up, down] = (await w.settle()).map((c) => c.event);
      for (const [event, sign] of [[up!, "+ 5"], [down!, "- 2"]] as const) {
        expect(event.bulk).toMatchObject({ criteria: { kind: "where", where: { id: member.id } }, set: { logins: { sql: expect.stringContaining(sign) } }, affected: 1 });
        expect(sorted(event.changes)).toEqual(["logins", "revision", "touchedAt"]);
      }
      expect((await m.findOneByOrFail(Member, { id: member.id })).logins).toBe(3);
    });

    it("insert().orIgnore(): a row it skipped has no insert event; orUpdate(): a bulk insert per row, which may have updated it", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Stock } = w.app;
      const warehouse = unique("w").slice(0, 8);
      await m.insert(Stock, { warehouse, sku: "A", onHand: 1 });
      await m.createQueryBuilder().insert().into(Stock).values({ warehouse, sku: "A", onHand: 2 }).orIgnore().execute();
      await m.createQueryBuilder().insert().into(Stock).values([{ warehouse, sku: "B", onHand: 3 }, { warehouse, sku: "C", onHand: 4 }]).orIgnore().execute();
      await m.createQueryBuilder().insert().into(Stock).values([{ warehouse, sku: "C", onHand: 5 }, { warehouse, sku: "D", onHand: 6 }]).orIgnore().execute();
      await m.createQueryBuilder().insert().into(Stock).values({ warehouse, sku: "A", onHand: 7 }).orUpdate(["on_hand"], ["wh_code", "sku_code"]).execute();
      const calls = await w.settle();
      const key = (sku: string) => ({ warehouse, sku });
      expect(rows(calls)).toEqual([
        ["onInsertStock", key("A")],
        ["onInsertStock", key("B")],
        ["onInsertStock", key("C")],
        // one of C and D was written, and the database does not say which
        ["onBulkInsertStock", key("C")],
        ["onBulkInsertStock", key("D")],
        ["onBulkInsertStock", key("A")],
      ]);
      const [, , , c, d, a] = calls.map((call) => call.event) as DataEvent[];
      expect(c!.bulk).toEqual({ criteria: { kind: "where", where: key("C") }, set: { ...key("C"), onHand: 5 }, affected: 1 });
      expect(d!.bulk?.criteria).toEqual({ kind: "where", where: key("D") });
      expect(a!.bulk).toMatchObject({ set: { ...key("A"), onHand: 7 }, criteria: db.name === "mariadb" ? null : { kind: "where", where: key("A") } });
      expect((await m.findOneByOrFail(Stock, key("A"))).onHand).toBe(7);
    });

    it("upsert on an app-set uuid key: a bulk insert per value set, by property with typed values, the conflict columns as criteria", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Member } = w.app;
      const id = randomUUID();
      const values = { id, email: `${unique("up")}@example.com`, handle: unique("@up"), passwordHash: "h", interests: ["go"], prefs: null, home: { city: "Oslo", zip: null }, balance: new Money(42) };
      await m.upsert(Member, values, ["id"]);
      await m.upsert(Member, { ...values, tier: Tier.Pro, balance: new Money(43) }, { conflictPaths: ["id"] });
      const calls = await w.settle();
      expect(rows(calls)).toEqual([["onBulkInsertMember", { id }], ["onBulkInsertMember", { id }]]);
      const [first, second] = calls.map((c) => c.event.bulk!);
      expect(first!.set).toMatchObject({ id, interests: ["go"], home: { city: "Oslo", zip: null }, balance: { cents: 42 } });
      expect(second!.set).toMatchObject({ tier: Tier.Pro, balance: { cents: 43 } });
      expect(first!.criteria).toEqual(db.name === "mariadb" ? null : { kind: "where", where: { id } });
      // MariaDB's INSERT … RETURNING gives the rows written (one), not ON DUPLICATE KEY's count (2 for an update).
      expect([first!.affected, second!.affected]).toEqual([1, 1]);
      expect((await m.findOneByOrFail(Member, { id })).tier).toBe(Tier.Pro);
    });

    it("@Generated('uuid') keys: the generated key on save and insert(); a refused insert keeps the key it attempted (none where the database generates it)", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Label } = w.app;
      const saved = await m.save(m.create(Label, { name: unique("g") }));
      const inserted = await m.insert(Label, { name: unique("h") });
      await expect(m.insert(Label, { name: saved.name })).rejects.toThrow();
      const calls = await w.settle();
      const uuid = expect.stringMatching(/^[0-9a-f-]{36}$/);
      expect(rows(calls)).toEqual([["onInsertLabel", { id: saved.id }], ["onInsertLabel", { id: inserted.identifiers[0]!.id }], ["onInsertLabel_X", db.name === "postgres" ? null : { id: uuid }]]);
      expect(calls[0]!.event.data).toEqual({ id: uuid, name: saved.name });
      expect(calls[2]!.event.error?.code).toBe("unique_violation");
    });

    it("trees: closure-table and materialized-path nodes publish their own rows' events with the parent key; TypeORM's bookkeeping (closure rows, mpath) publishes nothing", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Category, Folder } = w.app;
      for (const Tree of [Category, Folder] as const) {
        const root = await m.save(m.create(Tree, { name: "root" }));
        const child = await m.save(m.create(Tree, { name: "child", parent: root }));
        const grandchild = await m.save(m.create(Tree, { name: "grandchild", parent: child }));
        const other = await m.save(m.create(Tree, { name: "other" }));
        child.parent = other;
        await m.save(child);
        expect((await m.findOneOrFail(Tree, { where: { id: grandchild.id }, relations: { parent: true } })).parent?.id).toBe(child.id);
      }
      const calls = await w.settle();
      for (const entity of ["Category", "Folder"]) {
        const own = calls.filter((c) => c.event.entity === entity);
        expect(own.map((c) => c.handler)).toEqual([`onInsert${entity}`, `onInsert${entity}`, `onInsert${entity}`, `onInsert${entity}`, `onUpdate${entity}`]);
        const [root, child, grandchild, other, move] = own.map((c) => c.event);
        expect([root!.data, child!.data, grandchild!.data]).toEqual([{ id: root!.key!.id, name: "root" }, { id: child!.key!.id, name: "child", parentId: root!.key!.id }, { id: grandchild!.key!.id, name: "grandchild", parentId: child!.key!.id }]);
        expect([move!.key, move!.changes, move!.before?.parentId, move!.data?.parentId]).toEqual([child!.key, ["parentId"], root!.key!.id, other!.key!.id]);
      }
      expect(new Set(w.published().map((e) => e.entity))).toEqual(new Set(["Category", "Folder"]));
    });
  });
}
