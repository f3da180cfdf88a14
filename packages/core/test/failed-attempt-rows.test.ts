import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { Koper, ensureAuditTable, isKoperError, sqlClientFrom, type ChangeDraft } from "@koper/core";

// The audit rows of failed attempts inside a transaction are written after its rollback (rollback() is
// synchronous): tracked, awaited by settle()/stop(), and a refused write is reported, never unhandled.
const draft: ChangeDraft = { entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1, qty: 2 }, source: { orm: "test" } };
const duplicate = Object.assign(new Error("UNIQUE constraint failed: orders.number"), { code: "SQLITE_CONSTRAINT_UNIQUE" });

describe("failed-attempt audit rows", () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  afterEach(() => void process.off("unhandledRejection", onUnhandled));

  it("are in the table once koper.settle() resolves, and rollback() resolves after them", async () => {
    const db = new DatabaseSync(":memory:");
    const client = sqlClientFrom(db);
    await ensureAuditTable(client);
    const koper = new Koper();
    koper.useAudit(client);
    const tx = {};
    koper.capture.begin(tx);
    await koper.capture.fail(tx, draft, duplicate);
    expect(await client.query("SELECT * FROM koper_audit")).toEqual([]); // not while the transaction is open
    void koper.capture.rollback(tx);
    await koper.settle();
    const rows = await client.query("SELECT json_extract(entry, '$.outcome') AS outcome, action FROM koper_audit");
    expect(rows).toEqual([{ outcome: "failed", action: "insert" }]);
    const again = {};
    koper.capture.begin(again);
    await koper.capture.fail(again, draft, duplicate);
    await koper.capture.rollback(again);
    expect(await client.query("SELECT json_extract(entry, '$.outcome') AS outcome FROM koper_audit")).toHaveLength(2);
    await koper.stop();
    db.close();
  });

  it("that the table refuses: a logged AuditError and an audit_failed event, no unhandled rejection; stop() waits", async () => {
    process.on("unhandledRejection", onUnhandled);
    const logged: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger = { error: (message: string, fields?: Record<string, unknown>) => void logged.push({ message, fields }), warn() {}, info() {}, debug() {} };
    const db = new DatabaseSync(":memory:"); // no audit table: every insert is refused
    const koper = new Koper({ logger });
    koper.useAudit(sqlClientFrom(db));
    const events: unknown[] = [];
    koper.on("audit_failed", (event) => void events.push(event.payload));
    const tx = {};
    koper.capture.begin(tx);
    await koper.capture.fail(tx, draft, duplicate);
    void koper.capture.rollback(tx);
    await koper.stop();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
    expect(logged).toHaveLength(1);
    const error = logged[0]!.fields?.error;
    expect(isKoperError(error) && error.code).toBe("audit_write_failed");
    expect((error as Error).message).toContain("no such table");
    expect(events).toMatchObject([{ entities: ["Order"], error }]);
    db.close();
  });
});
