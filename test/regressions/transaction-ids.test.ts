import { describe, expect, it } from "vitest";
import { blogDatabases, of, useBlog, uuid } from "./blog/setup.ts";

// Issue #7.8: when a transaction's first write was in a rolled-back savepoint, `transaction.id`
// was that dropped event's id; on MariaDB a failure event inside a committing transaction shared
// `{ id, position }` with a committed event. Now the id is the first committed event's, and a
// failure event stands alone: `{ id: its own id, position: 0 }`.
for (const db of await blogDatabases()) {
  describe.skipIf(db.skip !== undefined)(`transaction ids and positions: ${db.name}`, () => {
    const world = useBlog(db);
    const user = (username: string) => ({ id: uuid(), username, email: `${username}@example.com`, passwordHash: "h" });

    it("the first write in a rolled-back savepoint: the transaction's id is its first committed event's", async () => {
      const w = await world();
      await w.dataSource.transaction(async (m) => {
        await m.transaction((inner) => inner.save(inner.create(w.blog.User, user("dropped"))).then(() => Promise.reject(new Error("undo")))).catch(() => {});
        await m.save(m.create(w.blog.User, user("kept-1")));
        await m.save(m.create(w.blog.User, user("kept-2")));
      });
      const events = await w.settle();
      expect(events.map((e) => e.data?.username)).toEqual(["kept-1", "kept-2"]);
      expect(events.map((e) => e.transaction)).toEqual([
        { id: events[0]!.id, position: 0 },
        { id: events[0]!.id, position: 1 },
      ]);
    });

    it("a failure inside a committing transaction never shares { id, position } with a committed event", async () => {
      const w = await world();
      const m = w.dataSource.manager;
      await m.save(m.create(w.blog.User, user("taken")));
      await w.dataSource.transaction(async (tx) => {
        await tx.save(tx.create(w.blog.User, user("first")));
        await tx.save(tx.create(w.blog.User, { ...user("x"), username: "taken" })).catch(() => {});
        await tx.save(tx.create(w.blog.User, user("second"))).catch(() => {});
      }).catch(() => {});
      const events = of(await w.settle(), "User");
      const places = events.map((e) => `${e.transaction.id}/${e.transaction.position}`);
      expect(new Set(places).size).toBe(places.length);
      const failed = events.filter((e) => e.outcome === "failed");
      expect(failed.length).toBeGreaterThanOrEqual(1);
      for (const e of failed) expect(e.transaction).toEqual({ id: e.id, position: 0 });
      const inTx = events.filter((e) => e.outcome === "committed" && e.data?.username !== "taken");
      // PostgreSQL aborts the transaction at the failure: COMMIT rolls back, nothing of it is published.
      expect(inTx.map((e) => e.data?.username)).toEqual(db.name === "postgres" ? [] : ["first", "second"]);
      expect(inTx.map((e) => e.transaction)).toEqual(inTx.map((_, position) => ({ id: inTx[0]!.id, position })));
    });
  });
}
