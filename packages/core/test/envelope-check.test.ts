import { describe, expect, it } from "vitest";
import { DataEvent, EnvelopeError, decode, encode } from "@koper/core";
import { isPlainCaptured, isPlainEvent } from "../src/envelope/envelope-check.ts";
import { snapshot, snapshotCaptured } from "../src/envelope/local-copy.ts";
import { validEvent } from "../src/runtime/resolvers.ts";

const valid = (): Record<string, unknown> => ({
  specVersion: 1,
  id: "01a232e7-a8f7-70a3-a8b6-327e7b201478",
  entity: "Order",
  action: "update",
  outcome: "committed",
  key: { id: 124 },
  data: { id: 124, updatedAt: new Date(5) },
  before: null,
  changes: ["qty"],
  source: { orm: "bench", table: "orders", service: "shop" },
  transaction: { id: "tx-1", position: 0 },
  context: { actor: "alice", extra: { any: 1 } },
  trace: { traceparent: "00-c6d4eae39caafb596bbdda194b70d2a4-1eeb8fe3b3a89078-01" },
  time: { occurred: 1796150372599.69, committed: 1796150372599.78, published: 1796150372599.85 },
});

// Each change makes the envelope invalid, or gives zod something to strip: the fast check must say no.
const corruptions: [string, (e: Record<string, any>) => void][] = [
  ["specVersion 2", (e) => (e.specVersion = 2)],
  ["id not a uuid", (e) => (e.id = "nope")],
  ["empty entity", (e) => (e.entity = "")],
  ["unknown action", (e) => (e.action = "upsert")],
  ["unknown outcome", (e) => (e.outcome = "maybe")],
  ["key an array", (e) => (e.key = [1])],
  ["data a string", (e) => (e.data = "row")],
  ["data missing", (e) => delete e.data],
  ["before a number", (e) => (e.before = 1)],
  ["before undefined", (e) => (e.before = undefined)],
  ["changes not strings", (e) => (e.changes = [1])],
  ["source without orm", (e) => delete e.source.orm],
  ["source with an unknown key", (e) => (e.source.extra = "x")],
  ["source.table a number", (e) => (e.source.table = 1)],
  ["transaction position negative", (e) => (e.transaction.position = -1)],
  ["transaction position fractional", (e) => (e.transaction.position = 0.5)],
  ["transaction with an unknown key", (e) => (e.transaction.extra = 1)],
  ["context an array", (e) => (e.context = [])],
  ["context.actor a number", (e) => (e.context.actor = 1)],
  ["trace without traceparent", (e) => (e.trace = {})],
  ["trace with an unknown key", (e) => (e.trace.extra = 1)],
  ["time.occurred negative", (e) => (e.time.occurred = -1)],
  ["time.occurred NaN", (e) => (e.time.occurred = Number.NaN)],
  ["time.published Infinity", (e) => (e.time.published = Number.POSITIVE_INFINITY)],
  ["time with an unknown key", (e) => (e.time.extra = 1)],
  ["an unknown top-level key", (e) => (e.extra = 1)],
  ["a bulk write (zod decides)", (e) => (e.bulk = { criteria: null, affected: 1 })],
  ["a failure (zod decides)", (e) => (e.error = { code: "x", message: "m", name: "Error" })],
];

describe("hand-written envelope check", () => {
  it("accepts the common envelope that zod accepts and passes through as it is", () => {
    const event = valid();
    expect(isPlainEvent(event)).toBe(true);
    expect(DataEvent.parse(event)).toStrictEqual(event);
    const decoded = decode(encode(event));
    expect(validEvent(decoded)).toBe(decoded);
  });

  it.each(corruptions)("says no to %s, and the verdict is zod's", (_what, corrupt) => {
    const event = valid();
    corrupt(event);
    expect(isPlainEvent(event)).toBe(false);
    const zod = DataEvent.safeParse(event);
    if (zod.success) expect(validEvent(event)).toStrictEqual(zod.data);
    else expect(() => validEvent(event)).toThrow(EnvelopeError);
  });

  // What adapters and apps supply; the rest of the envelope (ids, times, transaction, trace, its keys) the capture makes itself.
  const supplied = new Set(["empty entity", "unknown action", "key an array", "data a string", "before a number", "changes not strings",
    "source without orm", "source with an unknown key", "source.table a number", "context an array", "context.actor a number",
    "a bulk write (zod decides)", "a failure (zod decides)"]);
  it.each(corruptions.filter(([what]) => supplied.has(what)))(
    "the check of a captured event's snapshot says no to %s too, and its copy is the whole walk's",
    (_what, corrupt) => {
      const event = valid();
      corrupt(event);
      const fast = snapshotCaptured(event as unknown as DataEvent);
      const whole = snapshot(event);
      expect(fast.value).toStrictEqual(whole.value);
      expect(fast.maxBytes).toBeGreaterThanOrEqual(encode(event).byteLength);
      expect(fast.captured ? isPlainCaptured(fast.value as DataEvent) : isPlainEvent(fast.value)).toBe(false);
    },
  );

  it("the check of a captured event's snapshot accepts the common envelope, copied as the whole walk copies it", () => {
    const fast = snapshotCaptured(valid() as unknown as DataEvent);
    expect(fast.captured).toBe(true);
    expect(fast.value).toStrictEqual(snapshot(valid()).value);
    expect(isPlainCaptured(fast.value as DataEvent)).toBe(true);
  });

  it("gives zod's messages for an invalid envelope", () => {
    const event = valid();
    delete event.time;
    (event as Record<string, unknown>).action = "upsert";
    let caught: unknown;
    try {
      validEvent(event);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnvelopeError);
    expect((caught as Error).message).toContain("action: Invalid option");
    expect((caught as Error).message).toContain("time: Invalid input: expected object, received undefined");
  });
});

describe("newId", () => {
  it("writes uuid's v7 text for the same time, counter and random bytes", async () => {
    const { v7 } = await import("uuid");
    const { formatV7 } = await import("../src/envelope/ids.ts");
    for (const [msecs, seq] of [[0, 0], [1_796_150_372_599, 0x3fffffff], [2 ** 48 - 1, 2 ** 31 - 1], [1_700_000_000_123, 12345]] as const) {
      const random = Uint8Array.from({ length: 16 }, (_, i) => (i * 53 + seq) & 0xff);
      expect(formatV7(msecs, seq, random, 10)).toBe(v7({ random, msecs, seq }));
    }
  });
});

describe("childTraceparent", () => {
  it("starts a sampled trace, and a child keeps its parent's version, trace id and flags with a new span id", async () => {
    const { childTraceparent, isTraceparent } = await import("../src/envelope/trace.ts");
    const root = childTraceparent();
    expect(root).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const parent = "01-c6d4eae39caafb596bbdda194b70d2a4-1eeb8fe3b3a89078-00";
    const child = childTraceparent(parent);
    expect(isTraceparent(child)).toBe(true);
    expect(child).toMatch(/^01-c6d4eae39caafb596bbdda194b70d2a4-[0-9a-f]{16}-00$/);
    expect(child.slice(36, 52)).not.toBe("1eeb8fe3b3a89078");
    expect(childTraceparent("not a traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(new Set(Array.from({ length: 1000 }, () => childTraceparent()))).toHaveProperty("size", 1000);
  });
});
