import { describe, expect, it } from "vitest";
import {
  DataEvent,
  InProcessTransport,
  Koper,
  dataListener,
  decode,
  type ChangeDraft,
  type DeliveredMessage,
  type OutgoingMessage,
  type Subscription,
  type Transport,
} from "@koper/core";
import { deadLetters, deferred, orderDraft, unique, until } from "./support.ts";

// The in-process transport without its shortcut: every message goes as bytes, decoded and zod-checked
// by the consumer, as through Kafka. What a listener gets must be the same either way.
class BytesOnly implements Transport {
  readonly name = "bytes-only";
  readonly #inner = new InProcessTransport();
  connect() {
    return this.#inner.connect();
  }
  send(messages: OutgoingMessage[]) {
    return this.#inner.send(messages.map(({ topic, key, value, headers }) => ({ topic, key, value, headers })));
  }
  subscribe(subscription: Subscription) {
    return this.#inner.subscribe(subscription);
  }
  drain() {
    return this.#inner.drain();
  }
  close() {
    return this.#inner.close();
  }
}

class Money {
  constructor(readonly cents: bigint) {}
  toJSON() {
    return `${this.cents / 100n}.${String(this.cents % 100n).padStart(2, "0")}`;
  }
}
class Address {
  street = "Main 1";
  city = "Koper";
  label() {
    return `${this.street}, ${this.city}`;
  }
}

// Every kind of value the codec carries, and the corner cases of JSON.
function awkwardRow(): Record<string, unknown> {
  const sparse: unknown[] = [1];
  sparse[2] = 3;
  const row: Record<string, unknown> = {
    id: 7,
    at: new Date(1_700_000_000_123),
    never: new Date(Number.NaN),
    big: 12345678901234567890n,
    blob: Buffer.from("hé\u0000llo"),
    bytes: new Uint8Array([1, 2, 255]),
    missing: undefined,
    nan: Number.NaN,
    inf: Number.NEGATIVE_INFINITY,
    negativeZero: -0,
    sparse,
    tagged: { $koper: "Date", v: 1 },
    money: new Money(1990n),
    address: new Address(),
    nested: { deep: [{ when: new Date(5) }, null, true, "lone \ud800 surrogate"] },
    nullProto: Object.assign(Object.create(null), { a: 1 }),
  };
  row[Symbol("hidden") as unknown as string] = "JSON drops symbol keys";
  Object.defineProperty(row, "__proto__", { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
  return row;
}

const draftOf = (data: Record<string, unknown>): ChangeDraft => ({
  entity: "Order",
  action: "update",
  key: { id: 7 },
  data,
  before: { id: 7, at: new Date(0) },
  changes: ["at"],
  source: { orm: "test", table: "orders" },
});

async function receive(transport: Transport | undefined, draft: () => ChangeDraft): Promise<DataEvent> {
  const got = deferred<DataEvent>();
  const koper = new Koper({ topics: { prefix: unique("p") }, ...(transport ? { transport } : {}) }).register(
    dataListener()({ entity: "Order", onUpdateOrder: (_row: unknown, event: DataEvent) => got.resolve(event) }),
  );
  await koper.start();
  await koper.capture.record(undefined, draft());
  const event = await got.promise;
  await koper.stop();
  return event;
}

describe("same-process delivery (no bytes)", () => {
  it("hands a listener exactly the values the bytes path gives: Date, bigint, Buffer, undefined, NaN, -0, holes, toJSON, class instances", async () => {
    const local = await receive(undefined, () => draftOf(awkwardRow()));
    const wire = await receive(new BytesOnly(), () => draftOf(awkwardRow()));
    expect(local.data).toStrictEqual(wire.data);
    expect(local.before).toStrictEqual(wire.before);
    const data = local.data as Record<string, unknown>;
    expect(Buffer.isBuffer(data.blob)).toBe(true);
    expect(Buffer.isBuffer(data.bytes)).toBe(false);
    expect(data.bytes).toBeInstanceOf(Uint8Array);
    expect(Object.is(data.negativeZero, 0)).toBe(true);
    expect(Object.getPrototypeOf(data.address)).toBe(Object.prototype);
    expect(data.money).toBe("19.90");
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(data, "__proto__")?.value).toEqual({ polluted: true });
    expect(1 in (data.sparse as unknown[])).toBe(true);
    expect(Object.hasOwn(data, "missing")).toBe(true);
    expect(Object.getOwnPropertySymbols(data)).toEqual([]);
    // The envelope around the row, apart from its own ids and times, is the same too.
    const strip = (event: DataEvent) => ({ ...event, id: "", transaction: { ...event.transaction, id: "" }, trace: undefined, time: undefined });
    expect(strip(local)).toStrictEqual(strip(wire));
  });

  it("one group's handler mutating its event and row changes nothing another group or the dead letter sees", async () => {
    const prefix = unique("p");
    const topic = `${prefix}.Order`;
    const dlq = deadLetters(topic);
    const mutated = deferred();
    const seen: DataEvent[] = [];
    const vandal = dataListener()({
      entity: "Order",
      group: "vandal",
      retry: { retries: 0 },
      onUpdateOrder: (row: Record<string, unknown>, event: DataEvent) => {
        row.id = -1;
        (row.at as Date).setTime(0);
        (row.blob as Buffer).fill(0);
        (event.key as Record<string, unknown>).id = -1;
        event.context.actor = "vandal";
        event.changes!.push("everything");
        mutated.resolve();
        throw new Error("vandal fails after mutating");
      },
    });
    const reader = dataListener()({
      entity: "Order",
      group: "reader",
      onUpdateOrder: async (_row: unknown, event: DataEvent) => {
        await mutated.promise;
        seen.push(event);
      },
    });
    const koper = new Koper({ topics: { prefix } }).register(vandal).register(reader).register(dlq.listener);
    await koper.start();
    const row = { id: 7, at: new Date(1_700_000_000_000), blob: Buffer.from("abc") };
    await koper.runWith({ actor: "alice" }, () => koper.capture.record(undefined, draftOf(row)));
    // The application reusing its entity after the write changes no event either.
    row.id = 99;
    row.at.setTime(1);
    await until(() => seen.length === 1 && dlq.received.length === 1, "reader and dead letter");
    await koper.stop();
    for (const event of [seen[0]!, decode(dlq.received[0]!.meta.raw) as DataEvent]) {
      const data = event.data as Record<string, unknown>;
      expect(data.id).toBe(7);
      expect((data.at as Date).getTime()).toBe(1_700_000_000_000);
      expect(Buffer.from(data.blob as Buffer).toString()).toBe("abc");
      expect(event.key).toEqual({ id: 7 });
      expect(event.context.actor).toBe("alice");
      expect(event.changes).toEqual(["at"]);
    }
    expect(DataEvent.safeParse(decode(dlq.received[0]!.meta.raw)).success).toBe(true);
  });

  it("refuses an unencodable value and an oversized event at publish, exactly as encoding would", async () => {
    const failures: unknown[] = [];
    const koper = new Koper({ topics: { prefix: unique("p") }, maxPayloadBytes: 600 });
    koper.on("publish_failed", (e) => void failures.push(e.payload.error));
    await koper.start();
    await koper.capture.record(undefined, draftOf({ id: 7, nested: { list: [1, new Map()] } }));
    await koper.capture.record(undefined, draftOf({ id: 7, text: "x".repeat(1000) }));
    await koper.capture.record(undefined, draftOf({ id: 7, text: "x" }));
    await koper.stop();
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ code: "unencodable_value", message: expect.stringContaining("data.nested.list.[1]") });
    expect(failures[1]).toMatchObject({ code: "payload_too_large" });
  });

  it("decodes and checks an event it did not take from its own producer (the bytes), dead-lettering an invalid one", async () => {
    const prefix = unique("p");
    const transport = new InProcessTransport();
    const dlq = deadLetters(`${prefix}.Order`);
    const koper = new Koper({ transport, topics: { prefix } })
      .register(dataListener()({ entity: "Order", onUpdateOrder: () => {} }))
      .register(dlq.listener);
    await koper.start();
    // A foreign object riding along is not trusted: the consumer reads the bytes.
    const bad = Buffer.from(JSON.stringify({ specVersion: 1, entity: "Order", action: "update" }));
    await transport.send([{ topic: `${prefix}.Order`, key: null, value: bad, headers: {}, event: { entity: "Order", action: "update", outcome: "committed" } }]);
    await until(() => dlq.received.length === 1, "dead letter");
    await koper.stop();
    expect(dlq.received[0]!.meta.headers["koper-dlq-reason"]).toMatch(/^invalid_envelope: .*id/);
  });
  it("checks a captured event's envelope when a group takes it: groups subscribing after the publish get the same verdict", async () => {
    const prefix = unique("p");
    const transport = new InProcessTransport();
    // Publishes while nobody consumes: the messages wait in the log for the groups below.
    const publisher = new Koper({ transport, topics: { prefix } });
    await publisher.start();
    await publisher.capture.record(undefined, { ...orderDraft(1), source: { orm: "" } }); // zod refuses an empty orm
    await publisher.capture.record(undefined, orderDraft(2));
    await publisher.settle();
    expect(transport.lag(`${prefix}.Order`, "nobody yet")).toBe(2);
    const handled: string[] = [];
    const dlq = deadLetters(`${prefix}.Order`);
    const consumer = new Koper({ transport, topics: { prefix } })
      .register(dataListener()({ entity: "Order", group: unique("a"), onInsertOrder: (order: Record<string, unknown>) => void handled.push(`a${String(order.id)}`) }))
      .register(dataListener()({ entity: "Order", group: unique("b"), onInsertOrder: (order: Record<string, unknown>) => void handled.push(`b${String(order.id)}`) }))
      .register(dlq.listener);
    await consumer.start();
    await until(() => handled.length === 2 && dlq.received.length === 2, "both groups");
    await consumer.stop();
    await publisher.stop();
    expect(handled.sort()).toEqual(["a2", "b2"]);
    for (const letter of dlq.received) expect(letter.meta.headers["koper-dlq-reason"]).toMatch(/^invalid_envelope: .*orm/);
  });
});

describe("in-process retention", () => {
  it("holds no message every consuming group has taken: a group that subscribes later starts at the end", async () => {
    const transport = new InProcessTransport({ retention: 10_000 });
    const taken: DeliveredMessage[] = [];
    await transport.subscribe({ group: "g", topics: ["t"], maxInFlight: 8, handle: async (m) => void taken.push(m) });
    for (let i = 0; i < 2000; i++) await transport.send([{ topic: "t", key: null, value: Buffer.from(String(i)), headers: {} }]);
    await transport.drain();
    expect(taken).toHaveLength(2000);
    const late: string[] = [];
    await transport.subscribe({ group: "late", topics: ["t"], maxInFlight: 8, handle: async (m) => void late.push(m.offset) });
    await transport.send([{ topic: "t", key: null, value: Buffer.from("new"), headers: {} }]);
    await transport.drain();
    expect(late).toEqual(["2000"]);
  });

  it("a Koper's own transport keeps what was written before start() for its listeners, and nothing for groups after it", async () => {
    const prefix = unique("own");
    const got: number[] = [];
    const koper = new Koper({ topics: { prefix } }).register(dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (o) => void got.push(o.id) }));
    // Written before start(): the listener subscribes at start() and still gets them.
    await koper.capture.record(undefined, orderDraft(1));
    await koper.capture.record(undefined, { ...orderDraft(2), entity: "Invoice" });
    await koper.start();
    await until(() => got.length === 1, "the event written before start");
    // No group of this Koper reads Invoice: its events are not kept, so a group that subscribes to the
    // Koper's transport now starts at the end.
    const late: number[] = [];
    const spy = await koper.transport.subscribe({ group: unique("late"), topics: [`${prefix}.Invoice`], maxInFlight: 1, handle: async (m) => void late.push((decode(m.value) as DataEvent).key!.id as number) });
    await koper.capture.record(undefined, { ...orderDraft(3), entity: "Invoice" });
    await until(() => late.includes(3), "the Invoice event written after the late group joined");
    await spy.close();
    await koper.stop();
    expect(got).toEqual([1]);
    expect(late).toEqual([3]);
  });

  it("a transport given to Koper keeps retaining for groups that subscribe later: another Koper may start on it", async () => {
    const prefix = unique("shared");
    const transport = new InProcessTransport();
    const writer = new Koper({ transport, topics: { prefix } });
    await writer.start();
    await writer.capture.record(undefined, orderDraft(1));
    await writer.capture.settled();
    const got: number[] = [];
    const reader = new Koper({ transport, topics: { prefix } }).register(dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (o) => void got.push(o.id) }));
    await reader.start();
    await until(() => got.length === 1, "the event written before the reader started");
    await reader.stop();
    expect(got).toEqual([1]);
  });
});
