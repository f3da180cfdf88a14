import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditStore, ensureAuditTable, sqlClientFrom, type DataEvent } from "@koper/core";
import { run, type RunEnv } from "@koper/cli";
import { runCliOnServer } from "./cli-servers.ts";

// A fixed clock: 2026-03-01 12:00:00 UTC; the history below happened in the hour before.
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const MIN = 60_000;

function event(n: number, fields: Partial<DataEvent> & Pick<DataEvent, "action" | "data">, minutesAgo: number, actor?: string): DataEvent {
  const at = NOW - minutesAgo * MIN;
  return {
    specVersion: 1,
    id: `00000000-0000-7000-8000-${String(n).padStart(12, "0")}`,
    entity: "Customer",
    outcome: "committed",
    key: { id: 7 },
    source: { orm: "typeorm", table: "customer" },
    transaction: { id: `${n}e4c1f0a-0000-7000-8000-00000000000${n}`, position: 0 },
    context: actor ? { actor, requestId: `req-${n}` } : {},
    time: { occurred: at, committed: at },
    ...fields,
  };
}

const HISTORY: DataEvent[] = [
  event(1, { action: "insert", data: { id: 7, name: "Ann Lee", email: "ann@example.com", tier: "basic" } }, 50, "alice"),
  event(2, { action: "update", data: { id: 7, name: "Ann Lee", email: "ann.lee@example.com", tier: "basic" }, changes: ["email"] }, 40, "bob"),
  event(3, { action: "update", outcome: "failed", data: { id: 7, tier: "gold!" }, changes: ["tier"], error: { code: "check_violation", name: "QueryFailedError", message: "tier must be basic, silver or gold" } }, 30, "bob"),
  event(4, { action: "update", data: { id: 7, tier: "gold" }, changes: ["tier"] }, 20, "alice"),
  event(5, { action: "delete", data: null, before: { id: 7, name: "Ann Lee", email: "ann.lee@example.com", tier: "gold" } }, 10, "carol"),
];

describe("koper audit (CLI) on SQLite", () => {
  let dir: string;
  let url: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "koper-cli-"));
    const file = join(dir, "app.db");
    url = `sqlite:${file}`;
    const db = new DatabaseSync(file);
    const client = sqlClientFrom(db);
    await ensureAuditTable(client);
    await client.transaction((tx) => new AuditStore().write(HISTORY, tx));
    db.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function koper(args: string[], color = false) {
    let out = "";
    let err = "";
    const io: RunEnv = { out: (t) => void (out += t), err: (t) => void (err += t), now: () => NOW, color, env: {} };
    const status = await run(args, io);
    return { status, out, err };
  }

  it("history prints the versions with who, when and what changed from → to (golden file)", async () => {
    const { status, out } = await koper(["audit", "history", "Customer", "7", "--url", url]);
    expect(status).toBe(0);
    await expect(out).toMatchFileSnapshot("./golden/history.txt");
  });

  it("changes --actor alice --since 1h (golden file), and --since 25m leaves the older ones out", async () => {
    const { status, out } = await koper(["audit", "changes", "--actor", "alice", "--since", "1h", "--url", url]);
    expect(status).toBe(0);
    await expect(out).toMatchFileSnapshot("./golden/changes-alice.txt");
    const recent = await koper(["audit", "changes", "--since", "25m", "--url", url, "--json"]);
    expect(JSON.parse(recent.out).entries.map((e: { eventId: string }) => e.eventId.slice(-1))).toEqual(["4", "5"]);
  });

  it("changes --limit pages: a full page says how to continue, --cursor continues, every entry once", async () => {
    const first = await koper(["audit", "changes", "--limit", "2", "--url", url]);
    expect(first.status).toBe(0);
    const cursor = /^more: add --cursor (\S+)$/m.exec(first.out)?.[1];
    expect(cursor).toBeDefined();
    const ids: string[] = [];
    let next: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = JSON.parse((await koper(["audit", "changes", "--limit", "2", "--url", url, "--json", ...(next ? ["--cursor", next] : [])])).out);
      ids.push(...page.entries.map((e: { eventId: string }) => e.eventId.slice(-1)));
      next = page.cursor;
      if (!page.hasMore) break;
    }
    expect(ids).toEqual(["1", "2", "3", "4", "5"]);
    const second = await koper(["audit", "changes", "--limit", "2", "--url", url, "--cursor", cursor!, "--json"]);
    expect(JSON.parse(second.out).entries.map((e: { eventId: string }) => e.eventId.slice(-1))).toEqual(["3", "4"]);
    const last = await koper(["audit", "changes", "--limit", "10", "--url", url]);
    expect(last.out).not.toContain("more:");
    expect(await koper(["audit", "changes", "--cursor", "nonsense", "--url", url])).toMatchObject({ status: 2, err: expect.stringContaining("cursor") });
  });

  it("--json prints the versions for scripts", async () => {
    const { out } = await koper(["audit", "history", "Customer", "7", "--url", url, "--json"]);
    const versions = JSON.parse(out);
    expect(versions.map((v: { action: string; outcome: string }) => `${v.action}/${v.outcome}`)).toEqual([
      "insert/committed", "update/committed", "update/failed", "update/committed", "delete/committed",
    ]);
    expect(versions[1].diff).toEqual([{ field: "email", from: "ann@example.com", to: "ann.lee@example.com" }]);
  });

  it("colours the table on a terminal", async () => {
    const { out } = await koper(["audit", "history", "Customer", "7", "--url", url], true);
    expect(out).toMatch(/\u001b\[3\dm/);
  });

  it("--help prints usage with status 0; an unknown command or option is status 1 with commander's message", async () => {
    const root = await koper(["--help"]);
    expect(root).toMatchObject({ status: 0, err: "" });
    expect(root.out).toMatch(/^Usage: koper \[options\] \[command\]\n/);
    expect(root.out).toContain("audit ");
    const history = await koper(["audit", "history", "--help"]);
    expect(history.status).toBe(0);
    expect(history.out).toMatch(/^Usage: koper audit history \[options\] <entity> <key>\n/);
    for (const option of ["--url <url>", "--table <name>", "--json", "--connect-timeout <seconds>"]) expect(history.out).toContain(option);
    const changes = await koper(["audit", "changes", "--help"]);
    for (const option of ["--entity <name>", "--actor <who>", "--action <action>", "--since <time>", "--until <time>", "--limit <n>"]) expect(changes.out).toContain(option);
    expect(await koper(["audit", "bogus"])).toMatchObject({ status: 1, err: expect.stringContaining("unknown command 'bogus'") });
    expect(await koper(["audit", "changes", "--colour"])).toMatchObject({ status: 1, err: expect.stringContaining("unknown option '--colour'") });
  });

  it("says how to fix a bad call, with status 2", async () => {
    expect(await koper(["audit", "history", "Customer", "7"])).toMatchObject({ status: 2, err: expect.stringContaining("--url") });
    expect(await koper(["audit", "changes", "--since", "yesterday-ish", "--url", url])).toMatchObject({ status: 2, err: expect.stringContaining("15m") });
    expect(await koper(["audit", "history", "Customer", "7", "--url", "redis://x"])).toMatchObject({ status: 2, err: expect.stringContaining("postgres://") });
  });
});

describe("koper audit (CLI) on a SQLite file that is not there", () => {
  it("says so with status 2 and creates no file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "koper-cli-"));
    try {
      const file = join(dir, "typo.db");
      let err = "";
      const io: RunEnv = { out: () => undefined, err: (t) => void (err += t), now: () => NOW, color: false, env: {} };
      expect(await run(["audit", "history", "Customer", "7", "--url", `sqlite:${file}`], io)).toBe(2);
      expect(err).toBe(`koper: No SQLite database at ${JSON.stringify(file)}: give the path of the application's database file (sqlite:path/to/app.db).\n`);
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

await runCliOnServer("sqlite");

describe("koper audit (CLI): a database URL in an error message", () => {
  it("never shows the password, also one holding '@' or '/', nor a password= parameter", async () => {
    const { shown } = await import("../src/errors.ts");
    expect(shown("postgres://app:p@ss/w0rd@db.example:5432/shop")).toBe('"postgres://…@db.example:5432/shop"');
    expect(shown("mysql://root:s3cr3t@127.0.0.1/test")).toBe('"mysql://…@127.0.0.1/test"');
    expect(shown("postgres://db.example/shop?user=app&password=s3cr3t&sslmode=require")).toBe('"postgres://db.example/shop?user=app&password=…&sslmode=require"');
    expect(shown("postgres://db.example/shop?sslpassword=s3cr3t")).toBe('"postgres://db.example/shop?sslpassword=…"');
  });
});
