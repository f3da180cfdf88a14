import { describe, expect, it } from "vitest";
import { entryJson, parseEntries, toJson } from "../src/audit/encode.ts";

describe("audit entry JSON", () => {
  it("keeps Dates, bigints, Buffers, Uint8Arrays, undefined and NaN as themselves, at any depth; absent entry fields are left out", () => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    const entries = [
      { id: "e1", after: { id: 7, name: "Ann", at, flag: true, none: null }, changes: ["name"], outcome: undefined },
      { id: "e2", key: { id: 12345678901234567890n }, after: { big: 5n } },
      { id: "e3", after: { blob: Buffer.from("hello"), nested: { bytes: new Uint8Array([1, 2, 3]), gone: undefined, nan: Number.NaN } } },
      { id: "e4", bulk: { criteria: { kind: "sql", sql: "id = ?", parameters: [[1n, 2n]] }, affected: 2 } },
      { id: "e5", after: { $koper: "not a tag", plain: "text" } },
    ];
    const back = parseEntries<Record<string, unknown>>(entries.map(entryJson));
    expect(back).toEqual([{ id: "e1", after: entries[0]!.after, changes: ["name"] }, ...entries.slice(1)]);
    expect(Object.keys(back[0]!)).toEqual(["id", "after", "changes"]);
    expect((back[0]!.after as { at: unknown }).at).toBeInstanceOf(Date);
    expect(Buffer.isBuffer((back[2]!.after as { blob: unknown }).blob)).toBe(true);
    const bytes = (back[2]!.after as { nested: { bytes: unknown } }).nested.bytes;
    expect(bytes instanceof Uint8Array && !Buffer.isBuffer(bytes)).toBe(true);
    expect((back[1]!.key as { id: unknown }).id).toBe(12345678901234567890n);
    // A plain row stays plain JSON text, as JSON.stringify writes it.
    expect(entryJson({ id: "e6", after: { id: 1, name: "Ann" } })).toBe('{"id":"e6","after":{"id":1,"name":"Ann"}}');
  });

  it("a value the codec cannot carry falls back to plain JSON rather than failing the transaction", () => {
    const entry = { id: "e7", after: { tags: new Map([["a", 1]]), big: 5n } };
    expect(entryJson(entry)).toBe(toJson(entry));
  });
});
