import { describe, expect, it } from "vitest";
import { blogDatabases, of, useBlog, uuid } from "./blog/setup.ts";

// Issue #7.6: a refused insert whose primary key was set before the INSERT (a uuid) arrived with
// `key: null` and without the uuid in `data`. Failure events keep the attempted key and values,
// however the insert was made, and a key TypeORM generated itself is taken from the failed statement.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const db of await blogDatabases()) {
  describe.skipIf(db.skip !== undefined)(`attempted keys of failure events: ${db.name}`, () => {
    const world = useBlog(db);
    const user = (username: string) => ({ id: uuid(), username, email: `${uuid().slice(0, 8)}@example.com`, passwordHash: "h" });

    it("save, insert(), a transaction and a batch: each refused row keeps its app-set uuid and values", async () => {
      const w = await world();
      const users = w.dataSource.getRepository(w.blog.User);
      await users.save(users.create(user("taken")));
      const [a, b, c, d] = [user("taken"), user("taken"), user("taken"), user("fine")];
      await users.save(users.create(a)).catch(() => {});
      await users.insert(b).catch(() => {});
      await w.dataSource.transaction((m) => m.save(m.create(w.blog.User, c))).catch(() => {});
      await users.save([users.create(d), users.create({ ...user("taken") })]).catch(() => {});
      const failed = of(await w.settle(), "User").filter((e) => e.outcome === "failed");
      expect(failed.slice(0, 3).map((e) => [e.key, e.data?.id, e.data?.email])).toEqual([a, b, c].map((u) => [{ id: u.id }, u.id, u.email]));
      // One batched INSERT (PostgreSQL, MariaDB) fails as a whole: each row it carried, with its own key.
      for (const e of failed.slice(3)) expect(e.key).toEqual({ id: e.data?.id });
    });

    it("a uuid TypeORM generated is the failure's key where TypeORM, not the database, made it", async () => {
      const w = await world();
      const bookmarks = w.dataSource.getRepository(w.blog.Bookmark);
      await bookmarks.save(bookmarks.create({ url: "https://example.com/a" }));
      await bookmarks.save(bookmarks.create({ url: "https://example.com/a" })).catch(() => {});
      await bookmarks.insert({ url: "https://example.com/a" }).catch(() => {});
      const failed = of(await w.settle(), "Bookmark").filter((e) => e.outcome === "failed");
      expect(failed).toHaveLength(2);
      for (const e of failed) {
        expect(e.data).toMatchObject({ url: "https://example.com/a" });
        // PostgreSQL generates the uuid in the INSERT itself (DEFAULT): no key was ever attempted.
        if (db.name === "postgres") expect(e.key).toBeNull();
        else expect(e.key?.id).toMatch(UUID);
        if (db.name !== "postgres") expect(e.data?.id).toBe(e.key?.id);
      }
    });
  });
}
