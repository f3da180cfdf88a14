import { describe, expect, it } from "vitest";
import { databaseFamily, entityFilter, failureAbortsTransaction, isDeadlock, isSilenced, runSilenced, unknownEntityNames } from "@koper/core";

describe("database policy", () => {
  it("names deadlocks by MySQL name, MySQL number and PostgreSQL SQLSTATE", () => {
    expect(isDeadlock({ code: "ER_LOCK_DEADLOCK", errno: 1213 })).toBe(true);
    expect(isDeadlock({ errno: 1213 })).toBe(true);
    expect(isDeadlock({ code: "40P01" })).toBe(true);
    expect(isDeadlock({ code: "ER_DUP_ENTRY", errno: 1062 })).toBe(false);
    expect(isDeadlock({})).toBe(false);
  });

  it("a failure aborts the transaction on PostgreSQL always, on MySQL/MariaDB only when a deadlock, on SQLite never", () => {
    expect(failureAbortsTransaction("postgres", { code: "23505" })).toBe(true);
    expect(failureAbortsTransaction("mysql", { code: "ER_DUP_ENTRY" })).toBe(false);
    expect(failureAbortsTransaction("mysql", { code: "ER_LOCK_DEADLOCK", errno: 1213 })).toBe(true);
    expect(failureAbortsTransaction("sqlite", { code: "SQLITE_CONSTRAINT_UNIQUE" })).toBe(false);
  });

  it("knows the families by the names ORMs give their drivers", () => {
    expect(["postgres", "postgresql", "aurora-postgres", "cockroachdb"].map(databaseFamily)).toEqual(["postgres", "postgres", "postgres", "postgres"]);
    expect(["mysql", "mariadb", "aurora-mysql"].map(databaseFamily)).toEqual(["mysql", "mysql", "mysql"]);
    expect(["sqljs", "better-sqlite3", "sqlite", "libsql"].map(databaseFamily)).toEqual(["sqlite", "sqlite", "sqlite", "sqlite"]);
    expect(databaseFamily("mssql")).toBe("other");
  });

  it("entity filter: entities keeps, exclude wins, matching is the ORM's", () => {
    type Meta = { name: string; table: string };
    const [order, customer, line] = [{ name: "Order", table: "orders" }, { name: "Customer", table: "customers" }, { name: "OrderLine", table: "lines" }];
    const matches = (m: Meta, ref: string) => ref === m.name || ref === m.table;
    const all = entityFilter<Meta, string>({}, matches);
    expect([order, customer, line].map(all)).toEqual([true, true, true]);
    const some = entityFilter<Meta, string>({ entities: ["Order", "lines"], exclude: ["OrderLine"] }, matches);
    expect([order, customer, line].map(some)).toEqual([true, false, false]);
    expect(unknownEntityNames({ entities: ["Order", "Ordre"], exclude: ["Custmer"] }, ["Order", "Customer"])).toEqual(["Ordre", "Custmer"]);
  });

  it("runSilenced marks its async scope, and only it", async () => {
    expect(isSilenced()).toBe(false);
    const inside = await runSilenced(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return isSilenced();
    });
    expect(inside).toBe(true);
    expect(isSilenced()).toBe(false);
  });
});
