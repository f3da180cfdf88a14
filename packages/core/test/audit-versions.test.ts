import { describe, expect, it } from "vitest";
import { parseEntries } from "../src/audit/encode.ts";
import { toVersions, type AuditEntry } from "../src/audit/entries.ts";

const entry = (over: Partial<AuditEntry>): AuditEntry => ({
  seq: 1,
  eventId: "e",
  entity: "Customer",
  key: { id: 1 },
  action: "update",
  outcome: "committed",
  actor: undefined,
  requestId: undefined,
  context: {},
  transaction: { id: "t", position: 0 },
  time: { occurred: 1 },
  before: null,
  after: null,
  changes: [],
  bulk: undefined,
  error: undefined,
  source: undefined,
  ...over,
} as AuditEntry);

describe("audit versions' diffs", () => {
  it("an embeddable's changed column (address.city) diffs by its path, not as a masked field", () => {
    const [, update] = toVersions([
      entry({ action: "insert", after: { id: 1, address: { city: "Oslo", zip: "0150" } } }),
      entry({ after: { id: 1, address: { city: "Bergen", zip: "0150" } }, changes: ["address.city"] }),
    ]);
    expect(update!.diff).toEqual([{ field: "address.city", from: "Oslo", to: "Bergen" }]);
  });

  it("a redacted field reported changed still shows, masked on both sides", () => {
    const [, update] = toVersions([entry({ action: "insert", after: { id: 1, name: "A" } }), entry({ after: { id: 1, name: "A" }, changes: ["password"] })]);
    expect(update!.diff).toEqual([{ field: "password", from: "***", to: "***" }]);
  });

  it("a value stored as text before typed storage (ISO date, digits, base64) equals the same value typed: no change", () => {
    const at = new Date("2026-01-01T00:00:00.000Z");
    const [, update] = toVersions([
      entry({ action: "insert", after: { id: 1, at: at.toISOString(), big: "12345678901234567890", blob: Buffer.from("hi").toString("base64"), n: 5 } }),
      entry({ after: { id: 1, at, big: 12345678901234567890n, blob: Buffer.from("hi"), n: 6 }, changes: [] }),
    ]);
    expect(update!.diff).toEqual([{ field: "n", from: 5, to: 6 }]);
  });

  it("a row written before typed storage with a field named $koper reads as stored; the other rows still decode", () => {
    const old = JSON.stringify({ id: "e1", after: { $koper: "not a tag" } });
    const typed = JSON.stringify({ id: "e2", after: { at: { $koper: "Date", v: "2026-01-01T00:00:00.000Z" } } });
    const [first, second] = parseEntries<{ after: Record<string, unknown> }>([old, typed]);
    expect(first!.after).toEqual({ $koper: "not a tag" });
    expect(second!.after.at).toEqual(new Date("2026-01-01T00:00:00.000Z"));
  });
});
