import { createServer, type Server } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditStore, ChangeCapture, runWithContext, type DataEvent } from "@koper/core";
import { run, type RunEnv } from "@koper/cli";
import { openAuditDb, skipReason, type AuditDb } from "../../../test/audit/databases.ts";

/** The koper command on a database (a server, or a SQLite file), through the driver its URL names. */
export async function runCliOnServer(name: AuditDb["name"]): Promise<void> {
  const skip = await skipReason(name);
  describe.skipIf(skip !== undefined)(`koper audit (CLI) on ${name}`, () => {
    it("opens --url with its driver and prints the history and the changes", async () => {
      const db = await openAuditDb(name);
      try {
        const published: DataEvent[] = [];
        const capture = new ChangeCapture({ publish: async (events) => void published.push(...events), dropped: () => undefined });
        const tx = {};
        await runWithContext({ actor: "alice" }, async () => {
          capture.begin(tx);
          await capture.record(tx, { entity: "Customer", action: "insert", key: { id: 7 }, data: { id: 7, tier: "basic" }, source: { orm: "test" } });
          await capture.record(tx, { entity: "Customer", action: "update", key: { id: 7 }, data: { id: 7, tier: "gold" }, changes: ["tier"], source: { orm: "test" } });
          await capture.commit(tx);
        });
        await db.client.transaction((t) => new AuditStore({ table: db.table }).write(published, t));
        let out = "";
        const io = { out: (t: string) => void (out += t), err: (t: string) => void (out += t), now: () => Date.now(), color: false, env: {} };
        expect(await run(["audit", "history", "Customer", "7", "--url", db.url, "--json"], io)).toBe(0);
        expect(JSON.parse(out).map((v: { diff: unknown[] }) => v.diff.length)).toEqual([2, 1]);
        out = "";
        expect(await run(["audit", "changes", "--actor", "alice", "--since", "1h", "--url", db.url], io)).toBe(0);
        expect(out).toContain("2 change(s)");
        expect(out).toMatch(/alice .*Customer .*7 .*update .*tier/);
      } finally {
        await db.close();
      }
    });

    describe("on a database whose audit table holds rows of every shape", () => {
      let db: AuditDb;
      const tenant = 'Zürich:/"東京"';
      beforeEach(async () => {
        db = await openAuditDb(name);
        const published: DataEvent[] = [];
        const capture = new ChangeCapture({ publish: async (events) => void published.push(...events), dropped: () => undefined });
        const tx = {};
        const at = new Date("2026-03-01T10:20:30.456Z");
        await runWithContext({ actor: "alice" }, async () => {
          capture.begin(tx);
          const key = { tenant, no: 7 };
          await capture.record(tx, { entity: "Select", action: "insert", key, data: { ...key, at, weight: 12345678901234567890n, photo: Buffer.from([0, 255]) }, source: { orm: "test" } });
          await capture.record(tx, { entity: "Select", action: "update", key, data: { ...key, weight: 5n }, changes: ["weight"], source: { orm: "test" } });
          await capture.commit(tx);
        });
        await db.client.transaction((t) => new AuditStore({ table: db.table }).write(published, t));
      });
      afterEach(async () => db.close());

      async function koper(args: string[]) {
        let out = "";
        let err = "";
        const io: RunEnv = { out: (t) => void (out += t), err: (t) => void (err += t), now: () => Date.now(), color: false, env: {} };
        return { status: await run(args, io), out, err };
      }

      it("history of a composite key with unicode, ':' '/' '\"' prints Dates, bigints and bytes; --json keeps them readable", async () => {
        const key = JSON.stringify({ no: 7, tenant });
        const table = await koper(["audit", "history", "Select", key, "--url", db.url]);
        expect(table).toMatchObject({ status: 0, err: "" });
        expect(table.out).toContain(`Select ${key}: 2 version(s)`);
        expect(table.out).toContain("at: ∅ → 2026-03-01T10:20:30.456Z");
        expect(table.out).toContain("weight: ∅ → 12345678901234567890");
        expect(table.out).toContain("photo: ∅ → <2 bytes 00ff>");
        expect(table.out).toContain("weight: 12345678901234567890 → 5");
        const json = await koper(["audit", "history", "Select", key, "--url", db.url, "--json"]);
        const versions = JSON.parse(json.out);
        expect(versions[0].after).toEqual({ tenant, no: 7, at: "2026-03-01T10:20:30.456Z", weight: "12345678901234567890", photo: "AP8=" });
        expect(versions[1].state.weight).toBe("5");
        const changes = await koper(["audit", "changes", "--entity", "Select", "--actor", "alice", "--action", "update", "--since", "1h", "--url", db.url]);
        expect(changes.status).toBe(0);
        expect(changes.out).toContain("1 change(s)");
      });

      it("an unknown entity, a bad key, a bad action: a message saying what to fix, status 2", async () => {
        const unknown = await koper(["audit", "history", "Custmer", "7", "--url", db.url]);
        expect(unknown).toMatchObject({ status: 2, out: "" });
        expect(unknown.err).toMatch(/^koper: No audit rows for entity "Custmer" in .*koper_audit: entity names are/);
        expect((await koper(["audit", "changes", "--entity", "Custmer", "--url", db.url])).status).toBe(2);
        // A known entity without rows for that key is an empty history, not an error.
        // Its keys are composite: a bare value finds nothing, and the message says how to give one.
        expect(await koper(["audit", "history", "Select", "8", "--url", db.url])).toMatchObject({
          status: 0,
          out: `No audit history for Select 8.\nKeys of Select have the fields no, tenant: give them as JSON, e.g. '{"no":…,"tenant":…}'.\n`,
        });
        expect(await koper(["audit", "history", "Select", '{"tenant":"x","no":8}', "--url", db.url])).toMatchObject({ status: 0, out: 'No audit history for Select {"tenant":"x","no":8}.\n' });
        const badKey = await koper(["audit", "history", "Select", "{no:7}", "--url", db.url]);
        expect(badKey).toMatchObject({ status: 2, err: expect.stringContaining("is not a key") });
        const badAction = await koper(["audit", "changes", "--action", "upsert", "--url", db.url]);
        expect(badAction).toMatchObject({ status: 2, err: expect.stringContaining('"upsert" is not one of insert, update, delete, forget') });
        for (const result of [unknown, badKey, badAction]) expect(result.err).not.toMatch(/\n\s+at /);
      });

      it("a missing audit table: a message naming the database, status 1, no stack trace", async () => {
        const missing = await koper(["audit", "history", "Select", "7", "--url", db.url, "--table", "no_such_audit"]);
        expect(missing.status).toBe(1);
        expect(missing.err).toMatch(/^koper: No audit table no_such_audit at ".*": apply the migration/);
        expect(missing.err.trim().split("\n")).toHaveLength(1);
      });

      it.skipIf(name === "sqlite")("an unreachable server: a message naming the database, status 1, no stack trace", async () => {
        const refused = db.url.replace(/:(5432|3306)\//, ":1/");
        const down = await koper(["audit", "history", "Select", "7", "--url", refused]);
        expect(down.status).toBe(1);
        expect(down.err).toMatch(/^koper: Cannot read the audit trail at "(postgres|mysql):\/\/…@127\.0\.0\.1:1\/.*": .*ECONNREFUSED/);
        expect(down.err.trim().split("\n")).toHaveLength(1);
      });

      it.skipIf(name === "sqlite")("a server that accepts but never answers: gives up after --connect-timeout, status 1", async () => {
        const silent: Server = createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const port = (silent.address() as { port: number }).port;
        try {
          const url = db.url.replace(/:(5432|3306)\//, `:${port}/`);
          const started = Date.now();
          const result = await koper(["audit", "changes", "--url", url, "--connect-timeout", "0.5"]);
          expect(result.status).toBe(1);
          expect(result.err).toMatch(/^koper: Cannot read the audit trail at ".*": /);
          expect(Date.now() - started).toBeLessThan(5_000);
        } finally {
          silent.close();
        }
      });
    });
  });
}
