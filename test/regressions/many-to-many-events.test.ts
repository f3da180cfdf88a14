import { describe, expect, it } from "vitest";
import { blogDatabases, of, useBlog, uuid } from "./blog/setup.ts";

// Issue #7.3: junction rows arrived as events of an entity named after the junction table
// (`articles_tags_tags`), with `data: {}`, and the owning entity's event never named the relation.
// Now: `ArticleTags` events (owner entity + relation) with both keys, and `changes` names `tags`.
for (const db of await blogDatabases()) {
  describe.skipIf(db.skip !== undefined)(`many-to-many events: ${db.name}`, () => {
    const world = useBlog(db);

    it("adding and removing tags: ArticleTags insert/delete events with both keys; the article's update names `tags`", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const junction = w.dataSource.getMetadata(w.blog.Article).manyToManyRelations[0]!.junctionEntityMetadata!;
      const [articleKey, tagKey] = [junction.ownerColumns[0]!.databaseName, junction.inverseColumns[0]!.databaseName];
      const alice = await m.save(m.create(w.blog.User, { id: uuid(), username: "alice", email: "a@example.com", passwordHash: "h" }));
      const [ts, orm, sql] = await m.save(["ts", "orm", "sql"].map((name) => m.create(w.blog.Tag, { name })));
      const article = await m.save(m.create(w.blog.Article, { id: uuid(), slug: "s", title: "T", body: "b", author: alice, tags: [ts!, orm!] }));

      const both = await m.findOneOrFail(w.blog.Article, { where: { id: article.id }, relations: { tags: true } });
      both.title = "T2";
      both.tags = [orm!, sql!];
      await m.save(both);
      const only = await m.findOneOrFail(w.blog.Article, { where: { id: article.id }, relations: { tags: true } });
      only.tags = [sql!];
      await m.save(only);
      const events = await w.settle();

      expect(events.some((e) => e.entity === junction.name)).toBe(false);
      const pair = (tag: { id: number }) => ({ [articleKey]: article.id, [tagKey]: tag.id });
      expect(of(events, "ArticleTags").map((e) => [e.action, e.key, e.data ?? e.before])).toEqual([
        ["insert", pair(ts!), pair(ts!)],
        ["insert", pair(orm!), pair(orm!)],
        ["insert", pair(sql!), pair(sql!)],
        ["delete", pair(ts!), pair(ts!)],
        ["delete", pair(orm!), pair(orm!)],
      ]);
      const updates = of(events, "Article", "update");
      expect(updates).toHaveLength(1); // the tags-only save wrote no article row: its events are the junction's
      expect(updates[0]!.changes).toEqual(expect.arrayContaining(["title", "tags"]));
      // One save, one transaction: the article's update and its junction rows share it, in order.
      const second = events.filter((e) => e.transaction.id === updates[0]!.transaction.id);
      expect(second.map((e) => e.transaction.position).sort()).toEqual([0, 1, 2]);
      expect(second.map((e) => e.entity).sort()).toEqual(["Article", "ArticleTags", "ArticleTags"]);
    });

    it("a refused junction row (a tag that does not exist) is an ArticleTags failure event with both keys", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const alice = await m.save(m.create(w.blog.User, { id: uuid(), username: "alice", email: "a@example.com", passwordHash: "h" }));
      const article = await m.save(m.create(w.blog.Article, { id: uuid(), slug: "s", title: "T", body: "b", author: alice, tags: [] }));
      article.tags = [m.create(w.blog.Tag, { id: 987_654, name: "ghost" })];
      await expect(m.save(article)).rejects.toThrow();
      const failed = (await w.settle()).filter((e) => e.outcome === "failed");
      expect(failed.map((e) => [e.entity, e.action, e.error?.code])).toEqual([["ArticleTags", "insert", "foreign_key_violation"]]);
      expect(Object.values(failed[0]!.key ?? {}).map(String).sort()).toEqual([article.id, "987654"].sort());
    });

    it("removing an article removes its junction rows, each with its event", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const alice = await m.save(m.create(w.blog.User, { id: uuid(), username: "alice", email: "a@example.com", passwordHash: "h" }));
      const tags = await m.save(["a", "b"].map((name) => m.create(w.blog.Tag, { name })));
      const article = await m.save(m.create(w.blog.Article, { id: uuid(), slug: "s", title: "T", body: "b", author: alice, tags }));
      await m.remove(await m.findOneByOrFail(w.blog.Article, { id: article.id }));
      const events = await w.settle();
      expect(of(events, "ArticleTags").map((e) => e.action)).toEqual(["insert", "insert", "delete", "delete"]);
      expect(of(events, "Article").map((e) => e.action)).toEqual(["insert", "delete"]);
    });

    it("the relation query builder's add gives junction row events; its remove, a bulk delete of the junction (TypeORM deletes by SQL)", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const alice = await m.save(m.create(w.blog.User, { id: uuid(), username: "alice", email: "a@example.com", passwordHash: "h" }));
      const [a, b] = await m.save(["a", "b"].map((name) => m.create(w.blog.Tag, { name })));
      const article = await m.save(m.create(w.blog.Article, { id: uuid(), slug: "s", title: "T", body: "b", author: alice, tags: [] }));
      await m.createQueryBuilder().relation(w.blog.Article, "tags").of(article).add([a!, b!]);
      await m.createQueryBuilder().relation(w.blog.Article, "tags").of(article).remove(a!);
      const events = await w.settle();
      const junction = of(events, "ArticleTags");
      expect(junction.map((e) => [e.action, e.bulk ? "bulk" : "row"])).toEqual([["insert", "row"], ["insert", "row"], ["delete", "bulk"]]);
      expect(junction.slice(0, 2).every((e) => Object.values(e.key ?? {}).length === 2)).toBe(true);
      expect(junction[2]!.bulk).toMatchObject({ affected: 1, criteria: { kind: "sql", parameters: expect.arrayContaining([article.id]) } });
    });
  });
}
