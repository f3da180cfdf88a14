import { describe, expect, it } from "vitest";
import { decode, encode, EnvelopeError, isKoperError } from "@koper/core";

const roundTrip = (value: unknown) => decode(encode(value));

describe("codec", () => {
  it("keeps what ORMs hand over: Date, bigint, Buffer, Uint8Array, decimal strings, nested JSON", () => {
    const row = {
      id: 9007199254740993n,
      placedAt: new Date("2026-11-25T05:00:00.123Z"),
      price: "12345678901234567890.12",
      photo: Buffer.from([0, 1, 2, 255]),
      raw: new Uint8Array([7, 8]),
      meta: { tags: ["a", "b"], nested: { deep: [1, { x: null }] } },
      negativeZeroLike: -0.5,
    };
    const back = roundTrip(row) as typeof row;
    expect(back).toEqual(row);
    expect(typeof back.id).toBe("bigint");
    expect(back.placedAt).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(back.photo)).toBe(true);
    expect(back.raw).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.raw)).toBe(false);
  });

  it("tells null from undefined, in objects and arrays", () => {
    const back = roundTrip({ a: null, b: undefined, list: [undefined, null, 1] }) as Record<string, unknown>;
    expect(Object.hasOwn(back, "b")).toBe(true);
    expect(back.a).toBeNull();
    expect(back.b).toBeUndefined();
    expect(back.list).toEqual([undefined, null, 1]);
    expect((back.list as unknown[])[0]).toBeUndefined();
  });

  it("keeps non-finite numbers and invalid dates", () => {
    const back = roundTrip({ n: Number.NaN, p: Infinity, m: -Infinity, d: new Date("nope") }) as Record<string, unknown>;
    expect(back.n).toBeNaN();
    expect(back.p).toBe(Infinity);
    expect(back.m).toBe(-Infinity);
    expect(Number.isNaN((back.d as Date).getTime())).toBe(true);
  });

  it("round-trips a user object that looks like one of its own tags", () => {
    const tricky = { $koper: "Date", v: 0, inner: { $koper: "BigInt", v: "1" } };
    expect(roundTrip(tricky)).toEqual(tricky);
  });

  it("refuses values it would silently lose, with a typed error naming where", () => {
    try {
      encode({ order: { lines: new Map([[1, 2]]) } });
      expect.unreachable();
    } catch (error) {
      expect(isKoperError(error)).toBe(true);
      expect((error as EnvelopeError).code).toBe("unencodable_value");
      expect((error as Error).message).toContain("order.lines");
    }
    expect(() => encode({ f: () => 1 })).toThrow(EnvelopeError);
  });

  it("rejects bytes that are not UTF-8 JSON with a typed error", () => {
    expect(() => decode(new Uint8Array([0xff, 0xfe, 0x00]))).toThrow(EnvelopeError);
    expect(() => decode(Buffer.from("{not json"))).toThrow(/not UTF-8 JSON/);
  });
});

describe("codec safety", () => {
  it("keeps a __proto__ key as data, never as the decoded object's prototype", () => {
    const bytes = Buffer.from('{"__proto__":{"polluted":true},"a":{"__proto__":{"$koper":"BigInt","v":"1"}}}');
    const back = decode(bytes) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect((back as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.hasOwn(back, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(back.a, "__proto__")?.value).toBe(1n);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    const again = decode(encode(back)) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(again, "__proto__")?.value).toEqual({ polluted: true });
  });
});

describe("codec and class instances", () => {
  it("writes an entity instance as its own fields, and a value class (Decimal-like) as its toJSON", () => {
    class Money {
      constructor(private readonly digits: string) {}
      toJSON() {
        return this.digits;
      }
    }
    class Order {
      id = 1;
      price = new Money("19.90");
      placedAt = new Date(5);
      note: string | undefined = undefined;
    }
    expect(roundTrip(new Order())).toEqual({ id: 1, price: "19.90", placedAt: new Date(5), note: undefined });
    expect(Object.hasOwn(roundTrip(new Order()) as object, "note")).toBe(true);
  });

  it("leaves the caller's value untouched", () => {
    const row = { at: new Date(1), nested: { n: 1n, list: [undefined, 2] } };
    encode(row);
    expect(row.at).toBeInstanceOf(Date);
    expect(row.nested.n).toBe(1n);
    expect(row.nested.list).toEqual([undefined, 2]);
  });
});
