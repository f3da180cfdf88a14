import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DatabaseSync } from "node:sqlite";
import { AuditLog, AuditStore, auditMigration, auditMigrationSql, ensureAuditTable, sqlClientFrom, type DataEvent, type SqlDialect } from "@koper/core";

describe("audit migrations", () => {
  it.each(["sqlite", "postgres", "mysql"] as SqlDialect[])("the committed %s.sql is what auditMigration() runs", (dialect) => {
    const file = readFileSync(new URL(`../src/audit/migrations/${dialect}.sql`, import.meta.url), "utf8");
    expect(file).toBe(auditMigrationSql(dialect));
    expect(file).toMatch(/\(entity, entity_key, committed_at\)/);
    expect(file).toMatch(/\(actor, committed_at\)/);
    expect(file).toMatch(/\(tx_id\)/);
  });

  it("refuses a table name that is not an identifier", () => {
    expect(() => auditMigration("postgres", "x; DROP TABLE y")).toThrow(expect.objectContaining({ code: "audit_invalid_argument" }));
    expect(auditMigration("mysql", "app.audit")[0]).toContain("`app`.`audit`");
  });

  it("a schema-qualified table on SQLite (an attached database): its indexes go in that schema, and rows write and read", async () => {
    const db = new DatabaseSync(":memory:");
    db.exec("ATTACH DATABASE ':memory:' AS audit");
    const client = sqlClientFrom(db);
    await ensureAuditTable(client, { table: "audit.koper_audit" });
    await ensureAuditTable(client, { table: "audit.koper_audit" }); // idempotent
    const indexes = db.prepare("SELECT name FROM audit.sqlite_master WHERE type = 'index' AND name LIKE 'koper_audit_%' ORDER BY name").all();
    expect(indexes.map((row) => row.name)).toEqual(["koper_audit_actor_time", "koper_audit_entity_key_time", "koper_audit_tx"]);
    const event = {
      specVersion: 1, id: "00000000-0000-7000-8000-000000000001", entity: "Customer", action: "insert", outcome: "committed", key: { id: 7 },
      data: { id: 7 }, source: { orm: "test" }, transaction: { id: "t1", position: 0 }, context: {}, time: { occurred: 1, committed: 1 },
    } as DataEvent;
    await client.transaction((tx) => new AuditStore({ table: "audit.koper_audit" }).write([event], tx));
    expect((await new AuditLog(client, { table: "audit.koper_audit" }).history("Customer", 7)).map((v) => v.after)).toEqual([{ id: 7 }]);
    db.close();
  });
});
