import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { auditMigration, auditMigrationSql, type SqlDialect } from "@koper/core";

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
});
