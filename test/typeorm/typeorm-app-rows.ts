import { randomUUID } from "node:crypto";
import type { DataEvent } from "@koper/core";
import { describe, expect, it } from "vitest";
import { Money, Tier } from "./app-entities.ts";
import { age, newMember, rawSet, rows, unique, useApp } from "./app-world.ts";
import type { Database } from "./databases.ts";

const sorted = (fields: readonly string[] | undefined) => [...(fields ?? [])].sort();
const time = (value: unknown) => (value instanceof Date ? value.getTime() : value);

/**
 * An application-shaped model (app-entities.ts) through TypeORM's row writes: inheritance, soft
 * delete, auto-set columns, renamed/embedded/typed columns, hidden columns, the app's own
 * subscriber, composite keys, lazy relations and refused writes. Events name properties, never columns.
 */
export function runTypeormAppRows(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`typeorm app, rows: ${db.name}`, () => {
    const world = useApp(db);

    it("single-table inheritance: a row's events carry its child entity's name (Post, Page), however it was loaded; a criteria write, the class it went through", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Content, Post, Page } = w.app;
      const post = await m.save(m.create(Post, { title: "Hello", body: "first" }));
      const page = await m.save(m.create(Page, { title: "About", path: `/${unique("about")}` }));
      const loaded = (await m.findOneByOrFail(Content, { id: page.id })) as InstanceType<typeof Page>; // a Page, found through the parent
      expect(loaded).toBeInstanceOf(Page);
      const oldPath = loaded.path;
      loaded.path = `/${unique("about")}`;
      await m.save(loaded);
      await m.update(Content, { id: post.id }, { title: "Hello (Content)" });
      await m.update(Post, { id: post.id }, { title: "Hello (Post)" });
      await m.remove(loaded);
      const calls = await w.settle();
      expect(rows(calls)).toEqual([
        ["onInsertPost", { id: post.id }],
        ["onInsertPage", { id: page.id }],
        ["onUpdatePage", { id: page.id }],
        ["onBulkUpdateContent", null],
        ["onBulkUpdatePost", null],
        ["onDeletePage", { id: page.id }],
      ]);
      const [insert, , update, viaParent, viaChild, remove] = calls.map((c) => c.event) as DataEvent[];
      // No discriminator, no relation object, no @RelationId: the columns, by property.
      expect(insert!.data).toEqual({ id: post.id, title: "Hello", body: "first", editedAt: expect.any(Date), revision: 1, trashedAt: null });
      expect(sorted(update!.changes)).toEqual(["editedAt", "path", "revision"]);
      expect([update!.before?.path, update!.data?.path, update!.before?.revision, update!.data?.revision]).toEqual([oldPath, loaded.path, 1, 2]);
      expect(viaParent!.bulk).toMatchObject({ criteria: { kind: "where", where: { id: post.id } }, set: { title: "Hello (Content)" }, affected: 1 });
      expect(sorted(viaChild!.changes)).toEqual(["editedAt", "revision", "title"]);
      expect(remove!.before).toMatchObject({ id: page.id, path: loaded.path, revision: 2 });
      expect(w.published().map((e) => e.entity)).toEqual(calls.map((c) => c.event.entity));
    });

    it("soft delete: softRemove/recover are row updates whose data is the row as written (not the loaded entity's stale values); softDelete/restore, bulk updates; changes name the auto-set columns", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Member } = w.app;
      const member = await newMember(w);
      const key = { id: member.id };
      const stale = await m.findOneByOrFail(Member, key); // loaded before another request's write
      await m.increment(Member, key, "logins", 3);
      await age(w, Member, "touchedAt", key);
      await m.softRemove(stale);
      const removed = await m.findOneOrFail(Member, { where: key, withDeleted: true });
      await age(w, Member, "touchedAt", key);
      await m.recover(stale);
      const recovered = await m.findOneByOrFail(Member, key);
      await m.softDelete(Member, key);
      await m.restore(Member, key);
      const calls = await w.settle();
      expect(calls.map((c) => c.handler)).toEqual(["onInsertMember", "onBulkUpdateMember", "onUpdateMember", "onUpdateMember", "onBulkUpdateMember", "onBulkUpdateMember"]);
      const [, increment, soft, recover, softDelete, restore] = calls.map((c) => c.event) as DataEvent[];
      expect(sorted(increment!.changes)).toEqual(["logins", "revision", "touchedAt"]);
      for (const [event, row] of [[soft!, removed], [recover!, recovered]] as const) {
        expect(event.key).toEqual(key);
        expect(sorted(event.changes)).toEqual(["closedAt", "revision", "touchedAt"]);
        expect(event.data?.logins).toBe(3); // the database's value, not the stale entity's 0
        expect([time(event.data?.closedAt), event.data?.revision, time(event.data?.touchedAt)]).toEqual([time(row.closedAt), row.revision, time(row.touchedAt)]);
        expect(time(event.before?.touchedAt)).toBe(Date.UTC(2001, 0, 1));
        expect(event.data).not.toHaveProperty("passwordHash"); // select: false, never loaded
      }
      expect(soft!.data?.closedAt).toBeInstanceOf(Date);
      expect(recover!.data?.closedAt).toBeNull();
      for (const event of [softDelete!, restore!]) {
        expect(event.bulk).toEqual({ criteria: { kind: "where", where: key }, affected: 1 });
        expect(sorted(event.changes)).toEqual(["closedAt", "revision", "touchedAt"]);
      }
    });

    it("@CreateDateColumn, @UpdateDateColumn, @VersionColumn: data holds the values the database has, after insert and update", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Member } = w.app;
      const member = await newMember(w);
      const inserted = await m.findOneByOrFail(Member, { id: member.id });
      await age(w, Member, "touchedAt", { id: member.id });
      const loaded = await m.findOneByOrFail(Member, { id: member.id });
      loaded.tier = Tier.Pro;
      await m.save(loaded);
      const updated = await m.findOneByOrFail(Member, { id: member.id });
      const [insert, update] = (await w.settle()).map((c) => c.event);
      expect([time(insert!.data?.joinedAt), time(insert!.data?.touchedAt), insert!.data?.revision]).toEqual([time(inserted.joinedAt), time(inserted.touchedAt), 1]);
      expect(sorted(update!.changes)).toEqual(["revision", "tier", "touchedAt"]);
      expect([time(update!.data?.touchedAt), update!.data?.revision, update!.before?.revision]).toEqual([time(updated.touchedAt), 2, 1]);
      expect(time(update!.data?.joinedAt)).toBe(time(inserted.joinedAt));
    });

    it("a raw UPDATE of a row earlier in the save's transaction is not the save's statement: changes are what the save's UPDATE set", async () => {
      const w = await world();
      const { Member } = w.app;
      const member = await newMember(w);
      await w.dataSource.transaction(async (tx) => {
        await rawSet(tx, Member, "logins", "7", { id: member.id });
        const loaded = await tx.findOneByOrFail(Member, { id: member.id });
        loaded.tier = Tier.Pro;
        await tx.save(loaded);
      });
      const update = (await w.settle())[1]!.event;
      expect(sorted(update.changes)).toEqual(["revision", "tier", "touchedAt"]);
      expect([update.before?.logins, update.data?.logins]).toEqual([7, 7]);
    });

    it("renamed, embedded (prefix), enum, simple-array, simple-json and transformer columns: events by property with typed values, in process and on the wire", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Member } = w.app;
      const member = await newMember(w, { email: "Grace.Hopper@Example.com", handle: unique("@grace") });
      const loaded = await m.findOneByOrFail(Member, { id: member.id });
      Object.assign(loaded, { tier: Tier.Pro, interests: ["cobol"], prefs: { theme: "light", digest: false }, balance: new Money(700) });
      loaded.home.city = "Paris";
      await m.save(loaded);
      await m.update(Member, { id: member.id }, { tier: Tier.Free, home: { city: "Nice" } });
      const calls = await w.settle();
      const [insert, update, bulk] = calls.map((c) => c.event) as DataEvent[];
      const row = {
        id: member.id, email: "grace.hopper@example.com", handle: member.handle, passwordHash: member.passwordHash, tier: Tier.Free,
        interests: ["jazz", "chess"], prefs: { theme: "dark", digest: true }, home: { city: "Lyon", zip: "69001" },
        balance: expect.objectContaining({ cents: 500 }), logins: 0, joinedAt: expect.any(Date), touchedAt: expect.any(Date), revision: 1, closedAt: null,
      };
      expect(insert!.data).toEqual(row);
      expect(sorted(update!.changes)).toEqual(["balance", "home.city", "interests", "prefs", "revision", "tier", "touchedAt"]);
      expect(update!.data).toMatchObject({ tier: Tier.Pro, interests: ["cobol"], prefs: { theme: "light", digest: false }, home: { city: "Paris", zip: "69001" }, balance: { cents: 700 } });
      expect(update!.before).toMatchObject({ tier: Tier.Free, home: { city: "Lyon" }, balance: { cents: 500 } });
      expect(sorted(bulk!.changes)).toEqual(["home.city", "revision", "tier", "touchedAt"]);
      expect(bulk!.bulk?.set).toEqual({ tier: Tier.Free, home: { city: "Nice" } });
      const wire = w.published()[0]!;
      expect(wire.data).toMatchObject({ interests: ["jazz", "chess"], prefs: { theme: "dark", digest: true }, home: { city: "Lyon" }, balance: { cents: 500 } });
      expect(wire.data?.joinedAt).toBeInstanceOf(Date);
    });

    it("a select: false column appears only where the app wrote it; the app's own beforeInsert subscriber: the event shows what was written, by save and insert()", async () => {
      const w = await world({ redact: { Member: ["passwordHash"] } });
      const m = w.dataSource.manager;
      const { Member } = w.app;
      const member = await newMember(w, { email: "Ada.Lovelace@Example.com", handle: undefined });
      const id = randomUUID();
      await m.insert(Member, { id, email: "Alan.Turing@Example.com", passwordHash: "turing-secret", interests: [], home: { city: "London", zip: null }, balance: new Money(0) });
      const loaded = await m.findOneByOrFail(Member, { id: member.id });
      loaded.tier = Tier.Pro;
      await m.save(loaded);
      loaded.passwordHash = "a-new-secret";
      await m.save(loaded);
      await expect(newMember(w, { email: "ADA.LOVELACE@example.com", handle: unique("@ada") })).rejects.toThrow();
      const calls = await w.settle();
      expect(calls.map((c) => c.handler)).toEqual(["onInsertMember", "onInsertMember", "onUpdateMember", "onUpdateMember", "onInsertMember_X"]);
      const [saved, inserted, tier, hash, refused] = calls.map((c) => c.event) as DataEvent[];
      expect(saved!.data).toMatchObject({ email: "ada.lovelace@example.com", handle: "@ada.lovelace" });
      expect(inserted!.key).toEqual({ id });
      expect(inserted!.data).toMatchObject({ id, email: "alan.turing@example.com", handle: "@alan.turing" });
      expect([tier!.before, tier!.data].map((row) => "passwordHash" in (row ?? {}))).toEqual([false, false]);
      expect(sorted(tier!.changes)).toEqual(["revision", "tier", "touchedAt"]);
      expect(hash!.changes).toContain("passwordHash");
      expect(refused!.error?.code).toBe("unique_violation");
      expect(refused!.data).toMatchObject({ email: "ada.lovelace@example.com", home: { city: "Lyon" }, revision: 1 }); // what the subscriber made of it
      expect(Object.keys(refused!.data ?? {}).filter((field) => field.includes("."))).toEqual([]); // embedded columns nested, as in every event
      for (const secret of [member.passwordHash, "turing-secret", "a-new-secret"]) expect(w.carrying(secret), secret).toEqual([]);
    });

    it("composite keys: two columns of its own (Stock), two relations' columns (Reaction): keys by property, on rows, bulk writes and failures", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Stock, Reaction, Post } = w.app;
      const warehouse = unique("w").slice(0, 8);
      const stock = await m.save(m.create(Stock, { warehouse, sku: "SKU-1", onHand: 5 }));
      stock.onHand = 4;
      await m.save(stock);
      await expect(m.save(m.create(Stock, { warehouse, sku: "SKU-2", onHand: -1 }))).rejects.toThrow();
      await m.update(Stock, { warehouse, sku: "SKU-1" }, { onHand: 3 });
      await m.remove(await m.findOneByOrFail(Stock, { warehouse, sku: "SKU-1" }));
      const member = await newMember(w);
      const post = await m.save(m.create(Post, { title: "Reacted", body: null }));
      await m.save(m.create(Reaction, { member, content: post, kind: "+1" }));
      await expect(m.save(m.create(Reaction, { memberId: member.id, contentId: 987_654, kind: "-1" }))).rejects.toThrow();
      await m.delete(Reaction, { memberId: member.id, contentId: post.id });
      const calls = (await w.settle()).filter((c) => c.event.entity === "Stock" || c.event.entity === "Reaction");
      const stockKey = { warehouse, sku: "SKU-1" };
      expect(rows(calls)).toEqual([
        ["onInsertStock", stockKey],
        ["onUpdateStock", stockKey],
        ["onInsertStock_X", { warehouse, sku: "SKU-2" }],
        ["onBulkUpdateStock", null],
        ["onDeleteStock", stockKey],
        ["onInsertReaction", { memberId: member.id, contentId: post.id }],
        ["onInsertReaction_X", { memberId: member.id, contentId: 987_654 }],
        ["onBulkDeleteReaction", null],
      ]);
      const events = calls.map((c) => c.event);
      expect(events[1]!.changes).toEqual(["onHand"]);
      expect(events[2]!.error?.code).toBe("check_violation");
      expect(events[3]!.bulk).toMatchObject({ criteria: { kind: "where", where: stockKey }, set: { onHand: 3 }, affected: 1 });
      expect(events[4]!.before).toEqual({ ...stockKey, onHand: 3 });
      expect(events[5]!.data).toEqual({ memberId: member.id, contentId: post.id, kind: "+1" });
      expect(events[6]!.error?.code).toBe("foreign_key_violation");
      expect(events[7]!.bulk).toMatchObject({ criteria: { kind: "where", where: { memberId: member.id, contentId: post.id } }, affected: 1 });
    });

    it("a lazy (Promise) relation and a @RelationId: the join column by the related key, read when not loaded, never the relation or the relation id property", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Post } = w.app;
      const [ada, grace] = [await newMember(w), await newMember(w)];
      const post = m.create(Post, { title: "Lazy", body: "b" });
      post.author = Promise.resolve(ada);
      await m.save(post);
      const loaded = await m.findOneByOrFail(Post, { id: post.id }); // author not loaded; authorKey (@RelationId) is
      expect(loaded.authorKey).toBe(ada.id);
      loaded.title = "Lazy 2";
      await m.save(loaded);
      loaded.author = Promise.resolve(grace);
      await loaded.author;
      await m.save(loaded);
      const found = await m.findOneByOrFail(Post, { id: post.id });
      const from = w.queries.length;
      await m.remove(found);
      await m.save(m.create(Post, { title: "No author", body: null }));
      // Reading an unloaded lazy relation's property loads it (TypeORM itself does when saving a
      // loaded entity): Koper never does, neither for a removed row nor for a new one.
      expect(w.queries.slice(from).filter((sql) => sql.includes("author_member_id"))).toEqual([]);
      const events = (await w.settle()).filter((c) => c.event.entity === "Post").map((c) => c.event);
      expect(events.map((e) => e.action)).toEqual(["insert", "update", "update", "delete", "insert"]);
      expect(events[0]!.data?.author_id).toBe(ada.id);
      expect([events[1]!.before?.author_id, events[1]!.data?.author_id]).toEqual([ada.id, ada.id]);
      expect(sorted(events[1]!.changes)).toEqual(["editedAt", "revision", "title"]);
      expect([events[2]!.before?.author_id, events[2]!.data?.author_id]).toEqual([ada.id, grace.id]);
      expect(sorted(events[2]!.changes)).toEqual(["author_id", "editedAt", "revision"]);
      expect(events[3]!.before?.author_id).toBe(grace.id);
      for (const event of events) for (const row of [event.data, event.before]) for (const field of ["author", "authorKey", "__author__"]) expect(row ?? {}).not.toHaveProperty(field);
    });

    it("refused writes are failure events with normalized codes: unique on an inherited child (insert and update), not null, a unique bulk update", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { Member, Page, Post } = w.app;
      const path = `/${unique("taken")}`;
      await m.save(m.create(Page, { title: "Taken", path }));
      await expect(m.save(m.create(Page, { title: "Copy", path }))).rejects.toThrow();
      const other = await m.save(m.create(Page, { title: "Other", path: `/${unique("free")}` }));
      const oldPath = other.path;
      other.path = path;
      await expect(m.save(other)).rejects.toThrow();
      await expect(m.save(m.create(Post, { title: null as unknown as string, body: "untitled" }))).rejects.toThrow();
      const [a, b] = [await newMember(w), await newMember(w)];
      await expect(m.update(Member, { id: a.id }, { email: b.email })).rejects.toThrow();
      const failed = (await w.settle()).filter((c) => c.handler.endsWith("_X"));
      expect(failed.map((c) => [c.handler, c.event.error?.code])).toEqual([
        ["onInsertPage_X", "unique_violation"],
        ["onUpdatePage_X", "unique_violation"],
        ["onInsertPost_X", "not_null_violation"],
        ["onBulkUpdateMember_X", "unique_violation"],
      ]);
      const [insert, update, notNull, bulk] = failed.map((c) => c.event);
      expect(insert!.data).toMatchObject({ title: "Copy", path });
      expect([update!.key, update!.before?.path, update!.data?.path]).toEqual([{ id: other.id }, oldPath, path]);
      expect(notNull!.data).toMatchObject({ body: "untitled" });
      expect(bulk!.bulk).toMatchObject({ criteria: { kind: "where", where: { id: a.id } }, set: { email: b.email } });
      if (db.name !== "sqlite") for (const event of failed) expect(event.event.error?.original?.code).toBeTruthy();
    });
  });
}

