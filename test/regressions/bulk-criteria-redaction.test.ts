import { describe, expect, it } from "vitest";
import { RecordingTransport } from "../contract/RecordingTransport.ts";
import { Role } from "./blog/model.ts";
import { blogDatabases, of, useBlog, uuid } from "./blog/setup.ts";

// Issue #7.1: `users.update({ username }, { passwordHash })` published the new hash in
// `bulk.criteria.parameters` (the statement's parameters, copied unredacted), a `where` on the
// hash leaked the same way, nested conditions were never redacted, and database messages
// (`Key (email)=(…)`, `Duplicate entry '…'`, a NOT NULL detail quoting the whole row) went out verbatim.
const secret = (what: string) => `${what}-${uuid().slice(0, 8)}-s3cr3t`;

for (const db of await blogDatabases()) {
  describe.skipIf(db.skip !== undefined)(`redacted values in criteria and failures: ${db.name}`, () => {
    const world = useBlog(db);

    it("criteria writes never publish a redacted value: in SET, in WHERE, in an OR group, through the QueryBuilder", async () => {
      const transport = new RecordingTransport();
      const { dataSource, blog, settle } = await world({ transport, redact: { User: ["passwordHash"] } });
      const users = dataSource.getRepository(blog.User);
      const [h0, h1, h2] = [secret("h0"), secret("h1"), secret("h2")];
      await users.save(users.create({ id: uuid(), username: "alice", email: "alice@example.com", passwordHash: h0 }));
      await users.update({ username: "alice" }, { passwordHash: h1 }); // the call
      await users.update({ passwordHash: h1 }, { role: Role.Author });
      await users.update([{ username: "nobody" }, { passwordHash: h1, role: Role.Author }], { role: Role.Admin });
      const column = dataSource.driver.escape("passwordHash");
      await users.createQueryBuilder().update().set({ passwordHash: h2 }).where(`${column} = :h`, { h: h1 }).execute();
      await users.delete({ passwordHash: h2 });
      const events = await settle();
      expect(events.map((e) => [e.action, e.bulk?.affected ?? null])).toEqual([
        ["insert", null], ["update", 1], ["update", 1], ["update", 1], ["update", 1], ["delete", 1],
      ]);
      for (const value of [h0, h1, h2]) expect(transport.carrying(value), `${value} was published`).toEqual([]);
      const bulk = of(events, "User").slice(1).map((e) => e.bulk!);
      expect(bulk.map((b) => b.criteria?.kind)).toEqual(["where", "where", "where", "sql", "where"]);
      expect(bulk[0]).toMatchObject({ set: {}, criteria: { kind: "where", where: { username: "alice" } } });
      // The condition on a removed field is masked, not dropped: dropped, the criteria would select every row (`{}`), or more of them.
      expect(bulk[1]!.criteria).toEqual({ kind: "where", where: { passwordHash: "***" } });
      expect(bulk[2]!.criteria).toEqual({ kind: "where", where: { $or: [{ username: "nobody" }, { passwordHash: "***", role: "author" }] } });
      expect(bulk[3]!.criteria).toMatchObject({ kind: "sql", parameters: ["***"] });
    });

    it("failure messages and details lose the values of redacted columns: duplicate key, NOT NULL quoting the row", async () => {
      const transport = new RecordingTransport();
      const { dataSource, blog, settle } = await world({ transport, redact: { User: { passwordHash: "remove", email: "mask" } } });
      const users = dataSource.getRepository(blog.User);
      const [email, hash, hash2] = [`${secret("mail")}@example.com`, secret("hash"), secret("hash")];
      await users.save(users.create({ id: uuid(), username: "alice", email, passwordHash: hash }));
      await expect(users.save(users.create({ id: uuid(), username: "bob", email, passwordHash: hash2 }))).rejects.toThrow();
      await expect(users.save(users.create({ id: uuid(), username: null as unknown as string, email: "x@example.com", passwordHash: hash2 }))).rejects.toThrow();
      await users.save(users.create({ id: uuid(), username: "bob", email: "bob@example.com", passwordHash: hash2 }));
      await expect(users.update({ username: "bob" }, { email })).rejects.toThrow();
      await expect(users.insert({ id: uuid(), username: "carol", email, passwordHash: hash })).rejects.toThrow();
      const events = await settle();
      const failed = events.filter((e) => e.outcome === "failed");
      expect(failed.map((e) => e.error?.code)).toEqual(["unique_violation", "not_null_violation", "unique_violation", "unique_violation"]);
      expect(failed[2]!.bulk).toMatchObject({ set: { email: "***" }, criteria: { kind: "where", where: { username: "bob" } } });
      for (const value of [email, hash, hash2]) expect(transport.carrying(value), `${value} was published`).toEqual([]);
      if (db.name === "postgres") {
        expect(failed[0]!.error!.original?.detail).toBe("Key (email)=(***) already exists.");
        expect(failed[1]!.error!.original?.detail).toBe("Failing row contains (***).");
      }
      if (db.name === "mariadb") expect(failed[0]!.error!.message).toMatch(/^Duplicate entry '\*\*\*' for key/);
    });
  });
}
