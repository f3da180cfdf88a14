import { describe, expect, it } from "vitest";
import { blogDatabases, of, useBlog, uuid } from "./blog/setup.ts";

// Issue #7.5: an update that only touched an @UpdateDateColumn (and @VersionColumn) and a
// many-to-many relation reported `changes: ["author"]`: TypeORM lists a relation loaded without
// its key as changed. `changes` must be what the UPDATE really set, plus the relation that changed.
for (const db of await blogDatabases()) {
  describe.skipIf(db.skip !== undefined)(`changes of row updates: ${db.name}`, () => {
    const world = useBlog(db);

    it("names the auto-updated date and version columns and the changed many-to-many relation, not a relation TypeORM lists spuriously", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const alice = await m.save(m.create(w.blog.User, { id: uuid(), username: "alice", email: "a@example.com", passwordHash: "h" }));
      const [ts, orm] = await m.save(["ts", "orm"].map((name) => m.create(w.blog.Tag, { name })));
      const article = await m.save(m.create(w.blog.Article, { id: uuid(), slug: "s", title: "T", body: "b", author: alice, tags: [ts!] }));
      // The author is loaded without its key (a select of its name only), as a web app's "author card" query does.
      const loaded = await m.findOneOrFail(w.blog.Article, {
        where: { id: article.id },
        relations: { author: true, tags: true },
        select: { id: true, title: true, updatedAt: true, version: true, author: { username: true }, tags: { id: true, name: true } },
      });
      loaded.tags = [orm!];
      await m.save(loaded);
      const plain = await m.findOneByOrFail(w.blog.Article, { id: article.id });
      plain.title = "T2";
      await m.save(plain);
      await m.save(plain); // nothing changed: TypeORM writes nothing, Koper publishes nothing
      const events = await w.settle();
      const updates = of(events, "Article", "update");
      expect(updates.map((e) => [...e.changes!].sort())).toEqual([
        ["tags", "updatedAt", "version"],
        ["title", "updatedAt", "version"],
      ]);
      expect(updates.map((e) => [e.before?.version, e.data?.version])).toEqual([[1, 2], [2, 3]]);
      expect((await m.findOneOrFail(w.blog.Article, { where: { id: article.id }, relations: { author: true } })).author.id).toBe(alice.id);
    });

    it("a user's own update: the changed columns and the auto-set ones", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const user = await m.save(m.create(w.blog.User, { id: uuid(), username: "bob", email: "b@example.com", passwordHash: "h" }));
      user.email = "bob@example.com";
      await m.save(user);
      const events = await w.settle();
      expect([...of(events, "User", "update")[0]!.changes!].sort()).toEqual(["email", "updatedAt", "version"]);
    });
  });
}
