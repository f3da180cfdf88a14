import { describe, expect, it } from "vitest";
import { joinable, pgUnnestInsert, SEPARATOR } from "../src/audit/pg-insert.ts";

describe("PostgreSQL audit insert parameters", () => {
  it("joins a column only when splitting at U+001E gives its values back", () => {
    expect(joinable(["a", "", "ü😀", 17, 5n])).toBe(true);
    expect(joinable(["", ""])).toBe(true); // "\u001e" splits into two empty strings
    expect(joinable([""])).toBe(false); // string_to_array('') is {}
    expect(joinable(["a", null])).toBe(false);
    expect(joinable(["a", `b${SEPARATOR}c`])).toBe(false);
    expect(joinable([new Date(0), "a"])).toBe(false);
  });

  it("sends a column with one value in every row as a scalar, a joinable one as text, others as arrays", () => {
    const rows = [["E", "k1", null, 5], ["E", `k${SEPARATOR}2`, "a", 5], ["E", "k3", "b", 5]];
    const { sql, params } = pgUnnestInsert("INSERT INTO t (a, b, c, d)", ["text", "text", "text", "int8"], rows);
    expect(params).toEqual(["E", ["k1", `k${SEPARATOR}2`, "k3"], [null, "a", "b"], 5]);
    expect(sql).toBe("INSERT INTO t (a, b, c, d) SELECT $1::text, c1, c2, $4::int8 FROM unnest($2::text[], $3::text[]) AS u(c1, c2)");
    const joined = pgUnnestInsert("INSERT INTO t (a, b)", ["text", "int8"], [["x", 1], ["", 2]]);
    expect(joined.params).toEqual([`x${SEPARATOR}`, `1${SEPARATOR}2`]);
    expect(joined.sql).toBe("INSERT INTO t (a, b) SELECT c0, c1 FROM unnest(string_to_array($1::text, E'\\x1E'), string_to_array($2::text, E'\\x1E')::int8[]) AS u(c0, c1)");
  });
});
