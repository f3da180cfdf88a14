import { decode, decodeEvent, encode, encodeEvent, EnvelopeError, type DataEvent } from "@koper/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validEvent } from "../src/runtime/resolvers.ts";

const ID = "01a232e7-a8f7-70a3-a8b6-327e7b201478";
const TRACE = "00-c6d4eae39caafb596bbdda194b70d2a4-1eeb8fe3b3a89078-01";

/** An event as `buildEvent` makes one, published: the shape most events on the wire have. */
function sample(overrides: Partial<DataEvent> = {}): DataEvent {
  return {
    specVersion: 1,
    id: ID,
    entity: "Order",
    action: "insert",
    outcome: "committed",
    key: { id: 124 },
    data: { id: 124, number: "A-124", qty: 4, price: "19.90", updatedAt: new Date(1796150372599) },
    source: { orm: "typeorm", database: "shop", table: "orders" },
    transaction: { id: ID, position: 0 },
    context: {},
    trace: { traceparent: TRACE },
    time: { occurred: 1796150372599.695, committed: 1796150372599.789, published: 1796150372599.856 },
    ...overrides,
  };
}

const v2 = (event: unknown) => encodeEvent(event as DataEvent, 2);
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
// What a consumer gets from v1's bytes: the reference every v2 decoding must equal.
const viaV1 = (event: unknown) => decode(encode(event));

function expectSameAsV1(event: unknown, version: 1 | 2 = 2): unknown {
  const written = v2(event);
  expect(written.version).toBe(version);
  const decoded = decodeEvent(written.value, written.headers);
  expect(decoded).toStrictEqual(viaV1(event));
  expect(JSON.stringify(Object.keys(decoded as object))).toBe(JSON.stringify(Object.keys(viaV1(event) as object)));
  return decoded;
}

describe("envelope v2", () => {
  it("carries the common event in fewer bytes, and decodes to exactly what v1 gives", () => {
    const event = sample();
    const bytes = v2(event).value;
    expect(bytes.byteLength).toBeLessThan(encode(event).byteLength * 0.75);
    expect(text(bytes)).toMatch(/^\{"v":2,"e":"Order"/);
    // The id and traceparent go once, in the headers.
    expect(text(bytes)).not.toContain(ID);
    expect(text(bytes)).not.toContain(TRACE);
    expect(v2(event).headers).toEqual({ "koper-id": ID, "content-type": "application/vnd.koper.v2+json", traceparent: TRACE });
    expectSameAsV1(event);
    expect(validEvent(decodeEvent(bytes, v2(event).headers))).toStrictEqual(viaV1(event));
  });

  it("keeps every value type through row fields, key and context", () => {
    const row = {
      at: new Date(5),
      never: new Date(Number.NaN),
      big: -12345678901234567890n,
      buf: Buffer.from([1, 2, 3]),
      bytes: new Uint8Array([4, 5]),
      gone: undefined,
      nothing: null,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      json: { nested: [1, { deeper: new Date(7) }, undefined, null] },
      tagLike: { $koper: "Date", v: 1 },
    };
    const withProto = JSON.parse('{"__proto__":{"polluted":true},"plain":1}') as Record<string, unknown>;
    const decoded = expectSameAsV1(
      sample({ key: { id: 9n }, data: { ...row, ...withProto }, context: { actor: "u1", extra: new Date(3), deep: undefined } }),
    ) as DataEvent;
    expect(Object.getPrototypeOf(decoded.data)).toBe(Object.prototype);
    expect(Object.hasOwn(decoded.data!, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("sends an update's before as the fields that differ, and decodes it as a row of its own", () => {
    const data = { id: 1, qty: 5, at: new Date(9), tags: ["a"], blob: Buffer.from("x") };
    const before = { id: 1, qty: 4, at: new Date(9), tags: ["a"], blob: Buffer.from("x") };
    const event = sample({ action: "update", data, before, changes: ["qty"] });
    expect(text(v2(event).value)).toContain('"bd":{"qty":4}');
    const decoded = expectSameAsV1(event) as DataEvent;
    // Its own objects: a handler changing data does not change before.
    (decoded.data!.tags as string[]).push("b");
    (decoded.data!.at as Date).setTime(0);
    expect(decoded.before).toStrictEqual(before);
  });

  it("sends before in full when its fields differ from data's, and keeps null, undefined and absent apart", () => {
    expect(text(v2(sample({ action: "update", before: { id: 124, extra: true } })).value)).toContain('"b":{"id":124,"extra":true}');
    const reordered = sample({ action: "update", data: { a: 1, b: 2 }, before: { b: 2, a: 1 } });
    expect(text(v2(reordered).value)).toContain('"b":{"b":2,"a":1}');
    expectSameAsV1(reordered);
    expectSameAsV1(sample({ action: "update", before: { ...sample().data!, updatedAt: new Date(1796150372599) } }));
    expectSameAsV1(sample({ action: "delete", data: null, before: { id: 124 } }));
    expectSameAsV1(sample({ before: null }));
    expectSameAsV1(sample({ before: undefined }));
    expectSameAsV1(sample({ action: "update", data: { $koper: "x" }, before: { $koper: "y" } }));
  });

  it("writes defaults out and what differs from them in", () => {
    const failed = sample({
      outcome: "failed",
      error: { code: "unique_violation", message: "duplicate", name: "QueryFailedError", original: { code: "23505" } },
      transaction: { id: "01a232e7-a8f6-714a-b311-c36cec6730e2", position: 3 },
      context: { actor: "alice", requestId: "r-1" },
      trace: { traceparent: TRACE, tracestate: "k=v" },
      source: { orm: "prisma", database: "db", schema: "public", table: "orders", service: "shop" },
    });
    expect(text(v2(failed).value)).toContain('"s":["prisma","db","public","orders","shop"]');
    expectSameAsV1(failed);
    expectSameAsV1(sample({ key: null, data: null, bulk: { criteria: { kind: "sql", sql: "a = ?", parameters: [1n] }, affected: null } }));
    expectSameAsV1(sample({ source: { table: "orders", orm: "typeorm" } })); // not in the canonical order
    expectSameAsV1(sample({ source: { orm: "x", table: undefined } as never }));
    expectSameAsV1(sample({ trace: undefined }));
    const { trace: _trace, ...untraced } = sample();
    expectSameAsV1(untraced);
    expectSameAsV1(sample({ context: { actor: undefined } }));
  });

  it("carries time points as whole microseconds, and any other number exactly", () => {
    const event = sample({ time: { occurred: 1796150372599.695, committed: 1796150372599.789, published: 1796150372600 } });
    expect(text(v2(event).value)).toContain('"m":[1796150372599695,94,305]');
    expectSameAsV1(event);
    expectSameAsV1(sample({ time: { occurred: 1796150372599.6946, published: 1796150372599.8564 } }));
    expectSameAsV1(sample({ time: { occurred: 1, received: 2, handled: 3 } }));
    expectSameAsV1(sample({ time: { occurred: 1.0000001 } }));
    expectSameAsV1(sample({ time: { committed: 2, occurred: 1 } }));
  });

  it("writes v1 for what its short forms cannot hold, so a consumer's verdict is the same", () => {
    expectSameAsV1({ ...sample(), shipping: "express" }, 1);
    expectSameAsV1({ ...sample(), specVersion: 2 }, 1);
    expectSameAsV1(sample({ action: "upsert" as never }), 1);
    expectSameAsV1(sample({ outcome: "unknown" as never }), 1);
    const { time: _time, ...timeless } = sample();
    expectSameAsV1(timeless, 1);
  });

  it("refuses a value it cannot carry with the same error and path as v1", () => {
    const event = sample({ data: { id: 1, tags: new Map() } });
    expect(() => v2(event)).toThrow(EnvelopeError);
    expect(() => v2(event)).toThrow(/data\.tags/);
    expect(() => v2(sample({ action: "update", before: { id: 1, fn: () => 1 } }))).toThrow(/before\.fn/);
  });

  it("decodes any event fast-check makes to what v1 gives", () => {
    const value = fc.oneof(
      fc.string(),
      fc.double(),
      fc.bigInt(),
      fc.date({ noInvalidDate: false }),
      fc.constant(undefined),
      fc.constant(null),
      fc.uint8Array().map((b) => Buffer.from(b)),
      fc.boolean(),
    );
    const row = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("__proto__", "$koper", "v")), value);
    const time = fc.record({ occurred: fc.oneof(fc.double({ min: 0, max: 2e12 }), fc.integer({ min: 0, max: 2e12 }).map((n) => n / 1000)) });
    fc.assert(
      fc.property(row, fc.option(row), fc.option(row), time, (data, before, key, t) => {
        const event = sample({ data, key, time: { ...t, committed: t.occurred }, ...(before === null ? {} : { before }) });
        expectSameAsV1(event);
      }),
      { numRuns: 300 },
    );
  });
});

describe("decoding v1 stays supported", () => {
  // Committed bytes as Koper's v1 wrote them: a consumer of this version reads old producers' messages.
  const V1 =
    '{"specVersion":1,"id":"01a232e7-a8f7-70a3-a8b6-327e7b201478","entity":"Order","action":"update","outcome":"committed",' +
    '"key":{"id":124},"data":{"id":124,"number":"A-124","qty":4,"price":"19.90","updatedAt":{"$koper":"Date","v":1796150372599}},' +
    '"source":{"orm":"bench","table":"orders"},"transaction":{"id":"01a232e7-a8f6-714a-b311-c36cec6730e2","position":1},"context":{},' +
    '"trace":{"traceparent":"00-c6d4eae39caafb596bbdda194b70d2a4-1eeb8fe3b3a89078-01"},' +
    '"time":{"occurred":1796150372599.6946,"committed":1796150372599.789,"published":1796150372599.8564},"changes":["qty"]}';
  // The same event in v2, committed too: the v2 layout is a contract once written.
  const V2 =
    '{"v":2,"e":"Order","a":"u","k":{"id":124},' +
    '"d":{"id":124,"number":"A-124","qty":4,"price":"19.90","updatedAt":{"$koper":"Date","v":1796150372599}},"c":["qty"],' +
    '"s":["bench",null,null,"orders"],"q":"01a232e7-a8f6-714a-b311-c36cec6730e2","p":1,' +
    '"M":{"occurred":1796150372599.6946,"committed":1796150372599.789,"published":1796150372599.8564}}';

  it("reads committed v1 bytes and v2 bytes of one event as the same DataEvent", () => {
    const fromV1 = validEvent(decodeEvent(Buffer.from(V1)));
    expect(fromV1.data!.updatedAt).toEqual(new Date(1796150372599));
    const headers = { "koper-id": ID, "content-type": "application/vnd.koper.v2+json", traceparent: TRACE };
    expect(validEvent(decodeEvent(Buffer.from(V2), headers))).toStrictEqual(fromV1);
    expect(text(v2(fromV1).value)).toBe(V2);
    expect(v2(fromV1).headers).toEqual(headers);
  });

  it("reports a broken v2 body as an invalid envelope, naming the fields", () => {
    expect(() => validEvent(decodeEvent(Buffer.from('{"v":2,"i":"x","e":"Order","a":"z","m":[1]}')))).toThrow(/id|action|source/);
    expect(() => decodeEvent(Buffer.from('{"v":2,'))).toThrow(EnvelopeError);
    // Its id travels in the koper-id header: a v2 body read without its headers is no valid event.
    expect(() => validEvent(decodeEvent(v2(sample()).value))).toThrow(/id/);
  });
});
