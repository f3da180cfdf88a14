import { describe, expect, it } from "vitest";
import { blogDatabases, of, useBlog, uuid } from "./blog/setup.ts";

// Issue #7.2: with `@ManyToOne(() => User) author` and no `authorId` column declared, TypeORM
// marks the join column virtual and `data.authorId` was missing from insert, update and delete
// events; many-to-many junction events carried `data: {}`.
for (const db of await blogDatabases()) {
  describe.skipIf(db.skip !== undefined)(`implicit join columns: ${db.name}`, () => {
    const world = useBlog(db);

    async function seed(w: Awaited<ReturnType<typeof world>>) {
      const m = w.dataSource.manager;
      const alice = await m.save(m.create(w.blog.User, { id: uuid(), username: "alice", email: "a@example.com", passwordHash: "h" }));
      const bob = await m.save(m.create(w.blog.User, { id: uuid(), username: "bob", email: "b@example.com", passwordHash: "h" }));
      const tag = await m.save(m.create(w.blog.Tag, { name: `t-${uuid().slice(0, 6)}` }));
      const article = await m.save(m.create(w.blog.Article, { id: uuid(), slug: "hello", title: "Hello", body: "…", author: alice, tags: [tag] }));
      const comment = await m.save(m.create(w.blog.Comment, { body: "nice", article, author: bob }));
      return { alice, bob, tag, article, comment };
    }

    it("insert, update and delete events carry the join column under its column name", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      const { alice, bob, article, comment } = await seed(w);
      const loaded = await m.findOneByOrFail(w.blog.Article, { id: article.id }); // no relations loaded
      loaded.title = "Hello again";
      await m.save(loaded);
      const reassigned = await m.findOneOrFail(w.blog.Article, { where: { id: article.id }, relations: { author: true } });
      reassigned.author = bob;
      await m.save(reassigned);
      await m.remove(await m.findOneByOrFail(w.blog.Comment, { id: comment.id }));
      await m.softRemove(await m.findOneByOrFail(w.blog.Article, { id: article.id }));
      const events = await w.settle();

      const [inserted, ...updates] = of(events, "Article");
      expect(inserted!.data).toMatchObject({ id: article.id, authorId: alice.id });
      expect(updates.map((e) => [e.before?.authorId, e.data?.authorId])).toEqual([
        [alice.id, alice.id],
        [alice.id, bob.id],
        [bob.id, bob.id],
      ]);
      expect(updates[0]!.changes).not.toContain("authorId");
      expect(updates[1]!.changes).toContain("authorId");
      const [commentInsert, commentDelete] = of(events, "Comment");
      expect(commentInsert!.data).toMatchObject({ articleId: article.id, authorId: bob.id });
      expect(commentDelete!.before).toMatchObject({ id: comment.id, articleId: article.id, authorId: bob.id });
    });

    it("junction rows carry both keys", async () => {
      const w = await world();
      const { article, tag } = await seed(w);
      const events = await w.settle();
      const junction = w.dataSource.getMetadata(w.blog.Article).manyToManyRelations[0]!.junctionEntityMetadata!;
      const [owner, inverse] = [junction.ownerColumns[0]!.databaseName, junction.inverseColumns[0]!.databaseName];
      expect(of(events, "ArticleTags").map((e) => e.data)).toEqual([{ [owner]: article.id, [inverse]: tag.id }]);
    });

    it("lookupJoinColumns: false reads nothing more: an entity loaded without its relation gives events without its join column", async () => {
      const w = await world({}, { lookupJoinColumns: false });
      const m = w.dataSource.manager;
      const { article } = await seed(w);
      const loaded = await m.findOneByOrFail(w.blog.Article, { id: article.id });
      loaded.title = "Hello again";
      await m.save(loaded);
      const events = await w.settle();
      expect(of(events, "Article", "update")[0]!.data).not.toHaveProperty("authorId");
    });
  });
}
