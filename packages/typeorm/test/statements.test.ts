import { describe, expect, it } from "vitest";
import { affectedOf, criteriaOf, insertedRows, isUpdateOf, parseWrite, setColumns } from "../src/statements.ts";

const statement = (sql: string, parameters: unknown[]) => parseWrite(sql, parameters, null)!;
const same = (column: string) => column;

describe("SQL of TypeORM's writes", () => {
  it("criteria keep the WHERE clause and only its parameters, renumbered on PostgreSQL, with the column each is compared with", () => {
    const pg = statement(`UPDATE "user" SET "passwordHash" = $1, "updatedAt" = CURRENT_TIMESTAMP WHERE "username" = $2 AND lower("email") = $3 AND "id" IN ($4, $5) RETURNING "updatedAt"`, ["new", "ann", "a@x", 1, 2]);
    expect(criteriaOf(pg, same)).toEqual({
      kind: "sql",
      sql: `"username" = $1 AND lower("email") = $2 AND "id" IN ($3, $4)`,
      parameters: ["ann", "a@x", 1, 2],
      columns: ["username", undefined, "id", "id"],
    });
    const my = statement("UPDATE `user` SET `note` = ? WHERE `qty` BETWEEN ? AND ? AND `note` <> 'a, ?'", ["n", 1, 5]);
    expect(criteriaOf(my, same)).toEqual({ kind: "sql", sql: "`qty` BETWEEN ? AND ? AND `note` <> 'a, ?'", parameters: [1, 5], columns: ["qty", "qty"] });
    expect(criteriaOf(statement(`DELETE FROM "t"`, []), same)).toBeNull();
  });

  it("an UPDATE's SET columns, auto-set ones included; expressions with commas do not split", () => {
    expect(setColumns(`UPDATE "a" SET "title" = $1, "version" = "version" + 1, "meta" = COALESCE($2, '{}'), "updatedAt" = CURRENT_TIMESTAMP WHERE "id" = $3`)).toEqual([
      "title", "version", "meta", "updatedAt",
    ]);
  });

  it("an INSERT's rows by column: placeholders, literals, DEFAULT skipped, several rows, RETURNING ignored", () => {
    const rows = insertedRows(statement(`INSERT INTO "t"("id", "name", "n", "at") VALUES (DEFAULT, $1, 7, 'it''s'), (DEFAULT, $2, $3, now()) RETURNING "id"`, ["a", "b", 8]));
    expect(rows).toEqual([{ name: "a", n: 7, at: "it's" }, { name: "b", n: 8 }]);
    expect(insertedRows(statement("INSERT INTO `t`(`id`, `name`) VALUES (?, ?), (?, ?)", ["u1", "a", "u2", "b"]))).toEqual([{ id: "u1", name: "a" }, { id: "u2", name: "b" }]);
  });

  it("the UPDATE of a row: its key bound, or written into the WHERE clause as sql.js writes numbers; not another row's, not a SET value", () => {
    const seen = (sql: string, parameters: unknown[] = []) => ({ sql, parameters });
    expect(isUpdateOf(seen(`UPDATE "c" SET "t" = ? WHERE ( "id" = 12 ) AND ( "kind" IN (?) )`, ["x", "post"]), "c", { id: 12 })).toBe(true);
    expect(isUpdateOf(seen(`UPDATE "c" SET "t" = ? WHERE "id" = 12`, ["x"]), "c", { id: 1 })).toBe(false);
    expect(isUpdateOf(seen(`UPDATE "c" SET "n" = 1 WHERE "id" = ?`, [2]), "c", { id: 1 })).toBe(false);
    expect(isUpdateOf(seen(`UPDATE "s" SET "n" = 9 WHERE (("w" = 'a''b' AND "sku" = ?))`, ["x"]), "s", { w: "a'b", sku: "x" })).toBe(true);
  });

  it("orIgnore() INSERTs are told from plain ones and from upserts, on every dialect", () => {
    const flags = (sql: string) => ({ ignore: statement(sql, []).ignore, upsert: statement(sql, []).upsert });
    expect(flags(`INSERT OR IGNORE INTO "s"("a") VALUES (?)`)).toEqual({ ignore: true, upsert: false });
    expect(flags("INSERT IGNORE INTO `s`(`a`) VALUES (?)")).toEqual({ ignore: true, upsert: false });
    expect(flags(`INSERT INTO "s"("a") VALUES ($1) ON CONFLICT DO NOTHING RETURNING "id"`)).toEqual({ ignore: true, upsert: false });
    expect(flags(`INSERT INTO "s"("a") VALUES ($1) ON CONFLICT ("a") DO UPDATE SET "a" = EXCLUDED."a"`)).toEqual({ ignore: false, upsert: true });
    expect(flags(`INSERT INTO "s"("a") VALUES ($1)`)).toEqual({ ignore: false, upsert: false });
  });

  it("rows touched, from each driver's raw result: pg's rowCount, mysql2's affectedRows, the rows of MariaDB's INSERT … RETURNING", () => {
    expect([affectedOf({ rowCount: 2 }), affectedOf({ affectedRows: 3 }), affectedOf([{ id: 1 }]), affectedOf(undefined)]).toEqual([2, 3, 1, null]);
  });
});
