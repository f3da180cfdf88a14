import { describe, expect, it } from "vitest";
import { entryJson, toJson } from "../src/audit/encode.ts";

describe("audit entry JSON", () => {
  it("is toJson's text: bigint as a string, bytes as base64, Dates as ISO, at any depth", () => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    const entries = [
      { id: "e1", after: { id: 7, name: "Ann", at, flag: true, none: null }, changes: ["name"] },
      { id: "e2", key: { id: 12345678901234567890n }, after: { big: 5n } },
      { id: "e3", after: { blob: Buffer.from("hello"), nested: { bytes: new Uint8Array([1, 2, 3]) } } },
      { id: "e4", bulk: { criteria: { kind: "sql", sql: "id = ?", parameters: [[1n, 2n]] }, affected: 2 } },
      { id: "e5", after: { custom: { toJSON: () => 9n } } },
    ];
    for (const entry of entries) expect(entryJson(entry)).toBe(toJson(entry));
    expect(JSON.parse(entryJson(entries[1]!))).toEqual({ id: "e2", key: { id: "12345678901234567890" }, after: { big: "5" } });
    expect(JSON.parse(entryJson(entries[2]!)).after).toEqual({ blob: "aGVsbG8=", nested: { bytes: "AQID" } });
    expect(JSON.parse(entryJson(entries[0]!)).after.at).toBe("2026-01-02T03:04:05.678Z");
  });
});
