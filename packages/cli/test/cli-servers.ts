import { describe, expect, it } from "vitest";
import { AuditStore, ChangeCapture, runWithContext, type DataEvent } from "@koper/core";
import { run } from "@koper/cli";
import { openAuditDb, skipReason, type AuditDb } from "../../../test/audit/databases.ts";

/** The koper command on a database server, through the driver its URL names. */
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
  });
}
