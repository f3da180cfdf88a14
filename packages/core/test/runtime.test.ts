import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CONTENT_TYPE,
  ConfigError,
  DataListener,
  Headers,
  Koper,
  Listen,
  ListenerError,
  PublishError,
  StopError,
  dataListener,
  decode,
  isKoperError,
  listen,
  type DataEvent,
  type DeliveredMessage,
  type LifecycleEvent,
  type MessageMeta,
} from "@koper/core";
import { deferred, orderDraft, unique, until } from "./support.ts";

const fastRetry = { retries: 2, initialDelayMs: 1, maxDelayMs: 5, jitter: 0 };

function deadLetters(topic: string) {
  const received: { payload: unknown; meta: MessageMeta }[] = [];
  const listener = listen({
    topic: `${topic}.dlq`,
    group: unique("dlq"),
    onMessage: (payload, meta) => void received.push({ payload, meta }),
  });
  return { listener, received };
}

describe("plain messages", () => {
  it("delivers sender.send to @Listen onMessage with its metadata", async () => {
    const topic = unique("koper.memberSignup");
    const got: [string, MessageMeta][] = [];
    @Listen({ topic })
    class MemberSignupListener {
      async onMessage(msg: string, meta: MessageMeta) {
        got.push([msg, meta]);
      }
    }
    const koper = new Koper().register(new MemberSignupListener());
    await koper.start();
    const id = await koper.sender.send(topic, "Signed up successfully! 13800000000", { key: "m1", headers: { x: "1" } });
    await koper.stop();
    expect(got).toHaveLength(1);
    const [msg, meta] = got[0]!;
    expect(msg).toBe("Signed up successfully! 13800000000");
    expect(meta).toMatchObject({ topic, key: "m1", id, attempt: 1, headers: { x: "1", [Headers.id]: id } });
  });

  it("keeps unkeyed messages in send order and delivers structured payloads intact", async () => {
    const topic = unique("t");
    const got: unknown[] = [];
    const koper = new Koper().register(listen({ topic, onMessage: (p) => void got.push(p) }));
    await koper.start();
    for (let i = 0; i < 50; i++) await koper.sender.send(topic, { i, at: new Date(i), big: BigInt(i) });
    await koper.stop();
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => ({ i, at: new Date(i), big: BigInt(i) })));
  });

  it("keeps a message sent before start() for the listener that starts later", async () => {
    const topic = unique("t");
    const got: string[] = [];
    const koper = new Koper().register(listen({ topic, onMessage: (p: string) => void got.push(p) }));
    await koper.sender.send(topic, "early");
    await koper.start();
    await koper.stop();
    expect(got).toEqual(["early"]);
  });

  it("gives a foreign payload (no Koper content type) to onMessage as text", async () => {
    const topic = unique("t");
    const got: unknown[] = [];
    const koper = new Koper().register(listen({ topic, onMessage: (p) => void got.push(p) }));
    await koper.start();
    await koper.transport.send([{ topic, key: null, value: Buffer.from("plain text"), headers: {} }]);
    await koper.stop();
    expect(got).toEqual(["plain text"]);
  });

  it("refuses a bad topic name and an oversize payload with typed errors, before anything is sent", async () => {
    const koper = new Koper({ maxPayloadBytes: 100 });
    await koper.start();
    await expect(koper.sender.send("bad topic", 1)).rejects.toBeInstanceOf(ConfigError);
    const error = await koper.sender.send("ok", "x".repeat(200)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).code).toBe("payload_too_large");
    expect((error as Error).message).toMatch(/over the 100-byte limit/);
    expect(koper.metrics().published).toBe(0);
    await koper.stop();
    await expect(koper.sender.send("ok", 1)).rejects.toMatchObject({ code: "stopped" });
  });

  it("sends a payload that fails the listener's zod schema to the dead letter with the issues", async () => {
    const topic = unique("t");
    const dlq = deadLetters(topic);
    const got: unknown[] = [];
    const koper = new Koper().register(
      listen({ topic, schema: z.object({ phone: z.string().regex(/^\d{11}$/) }), onMessage: (p) => void got.push(p) }),
      dlq.listener,
    );
    await koper.start();
    await koper.sender.send(topic, { phone: "13800000000" });
    await koper.sender.send(topic, { phone: "nope" });
    await koper.stop();
    expect(got).toEqual([{ phone: "13800000000" }]);
    expect(dlq.received).toHaveLength(1);
    expect(dlq.received[0]!.meta.headers[Headers.dlqReason]).toMatch(/^invalid_payload: .*phone/);
  });
});

describe("data listeners", () => {
  it("routes insert, update, delete and failures by method name, with the entity and the event", async () => {
    const got: [string, unknown, DataEvent][] = [];
    @DataListener({ entity: "Order" })
    class OrderListener {
      onInsertOrder(order: unknown, event: DataEvent) {
        got.push(["insert", order, event]);
      }
      onUpdateOrder(order: unknown, event: DataEvent) {
        got.push(["update", order, event]);
      }
      onDeleteOrder(order: unknown, event: DataEvent) {
        got.push(["delete", order, event]);
      }
      onUpdateOrder_X(order: unknown, event: DataEvent) {
        got.push(["update_X", order, event]);
      }
      onBulkUpdateOrder(event: DataEvent) {
        got.push(["bulkUpdate", null, event]);
      }
      helper() {
        return "not a handler";
      }
    }
    const koper = new Koper({ topics: { prefix: unique("p") } }).register(new OrderListener());
    await koper.start();
    await koper.capture.record(undefined, orderDraft(1));
    await koper.capture.record(undefined, { ...orderDraft(1, "update"), before: { id: 1, qty: 0 }, changes: ["qty"] });
    await koper.capture.fail(undefined, orderDraft(1, "update"), new Error("boom"), { code: "23514" });
    await koper.capture.record(undefined, {
      entity: "Order",
      action: "update",
      key: null,
      bulk: { criteria: { qty: { gt: 0 } }, set: { qty: 0 }, affected: 4 },
      source: { orm: "test" },
    });
    await koper.capture.record(undefined, orderDraft(1, "delete"));
    await koper.capture.fail(undefined, orderDraft(2, "delete"), new Error("no _X handler for delete"));
    await koper.stop();
    expect(got.map(([kind, entity]) => [kind, entity])).toEqual([
      ["insert", { id: 1, qty: 1 }],
      ["update", { id: 1, qty: 1 }],
      ["update_X", { id: 1, qty: 1 }],
      ["bulkUpdate", null],
      ["delete", { id: 1, qty: 1 }],
    ]);
    expect(got[2]![2].error).toMatchObject({ code: "check_violation", message: "boom" });
    expect(got[3]![2].bulk).toEqual({ criteria: { qty: { gt: 0 } }, set: { qty: 0 }, affected: 4 });
    const times = got[0]![2].time;
    expect(times.occurred).toBeLessThanOrEqual(times.committed!);
    expect(times.committed).toBeLessThanOrEqual(times.published!);
    expect(times.published).toBeLessThanOrEqual(times.received!);
    expect(koper.metrics()).toMatchObject({ published: 6, handled: 5, ignored: 1 });
  });

  it("accepts the entity class and several entities, and the function API without decorators", async () => {
    class Customer {}
    const got: string[] = [];
    @DataListener({ entity: [Customer, "Order"], group: "audit" })
    class AuditListener {
      onInsertCustomer() {
        got.push("class:Customer");
      }
      onInsertOrder() {
        got.push("class:Order");
      }
    }
    const fn = dataListener<{ id: number }>()({
      entity: "Order",
      onInsertOrder: (order) => void got.push(`fn:${order.id}`),
    });
    const koper = new Koper({ topics: { prefix: unique("p") } }).register(new AuditListener(), fn);
    await koper.start();
    await koper.capture.record(undefined, { ...orderDraft(3), entity: "Customer" });
    await koper.capture.record(undefined, orderDraft(4));
    await koper.stop();
    expect(got.sort()).toEqual(["class:Customer", "class:Order", "fn:4"]);
  });

  it("refuses at register a method named like a handler that matches no action, naming it", () => {
    // @ts-expect-error the compiler catches the typo too; this test proves the runtime check for plain JS
    @DataListener({ entity: "Order" as string })
    class TypoListener {
      onInsertOrder() {}
      onInsrtOrder() {}
    }
    const koper = new Koper();
    expect(() => koper.register(new TypoListener())).toThrow(ListenerError);
    expect(() => koper.register(new TypoListener())).toThrow(/TypoListener\.onInsrtOrder matches no action/);
    class Undecorated {}
    expect(() => koper.register(new Undecorated())).toThrow(/not a Koper listener/);
    @DataListener({ entity: "Order" })
    class Empty {}
    expect(() => koper.register(new Empty())).toThrow(/has no handler/);
  });

  it("sends an invalid envelope to the dead letter with the zod issues, and keeps consuming", async () => {
    const prefix = unique("p");
    const topic = `${prefix}.Order`;
    const dlq = deadLetters(topic);
    const got: number[] = [];
    const koper = new Koper({ topics: { prefix } }).register(
      dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (o) => void got.push(o.id) }),
      dlq.listener,
    );
    await koper.start();
    await koper.sender.send(topic, { specVersion: 1, entity: "Order", action: "insert" }, { key: "Order:1" });
    await koper.transport.send([{ topic, key: "Order:1", value: Buffer.from("\u0000garbage"), headers: {} }]);
    await koper.capture.record(undefined, orderDraft(1));
    await koper.stop();
    expect(got).toEqual([1]);
    expect(dlq.received).toHaveLength(2);
    const [schema, garbage] = dlq.received.map((d) => d.meta.headers[Headers.dlqReason]!);
    expect(schema).toMatch(/^invalid_envelope: .*id: .*outcome: /);
    expect(garbage).toMatch(/^invalid_envelope: .*not UTF-8 JSON/);
    expect(dlq.received[0]!.meta.headers[Headers.dlqAttempts]).toBe("0");
    expect(koper.metrics().deadLettered).toBe(2);
  });
});

describe("retries and dead letters", () => {
  it("retries a throwing handler with backoff and succeeds without a dead letter", async () => {
    const topic = unique("t");
    const attempts: number[] = [];
    const failures: LifecycleEvent<"handler_failed">[] = [];
    const koper = new Koper({ retry: fastRetry }).register(
      listen({
        topic,
        onMessage: (_p, meta) => {
          attempts.push(meta.attempt);
          if (meta.attempt < 3) throw new Error(`flaky ${meta.attempt}`);
        },
      }),
    );
    koper.on("handler_failed", (e) => void failures.push(e));
    await koper.start();
    await koper.sender.send(topic, "x");
    await koper.stop();
    expect(attempts).toEqual([1, 2, 3]);
    expect(failures.map((f) => [f.payload.attempt, f.payload.willRetry])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(koper.metrics()).toMatchObject({ handled: 1, retried: 2, deadLettered: 0 });
  });

  it("dead-letters after the last retry with the error, attempts and origin, then goes on", async () => {
    const topic = unique("t");
    const dlq = deadLetters(topic);
    const handled: string[] = [];
    const lettered: LifecycleEvent<"dead_lettered">[] = [];
    const koper = new Koper({ retry: fastRetry }).register(
      listen({
        topic,
        group: "billing",
        onMessage: (p: string) => {
          if (p === "poison") throw new TypeError("cannot bill");
          handled.push(p);
        },
      }),
      dlq.listener,
    );
    koper.on("dead_lettered", (e) => void lettered.push(e));
    await koper.start();
    for (const p of ["a", "poison", "b"]) await koper.sender.send(topic, p);
    await koper.stop();
    expect(handled).toEqual(["a", "b"]);
    expect(dlq.received.map((d) => d.payload)).toEqual(["poison"]);
    expect(dlq.received[0]!.meta.headers).toMatchObject({
      [Headers.dlqReason]: "cannot bill",
      [Headers.dlqError]: "TypeError",
      [Headers.dlqAttempts]: "3",
      [Headers.dlqGroup]: "billing",
      [Headers.originalTopic]: topic,
      [Headers.originalPartition]: "0",
      [Headers.originalOffset]: "1",
      [Headers.contentType]: CONTENT_TYPE,
    });
    expect(lettered[0]!.payload).toMatchObject({ attempts: 3, deadLetterTopic: `${topic}.dlq`, group: "billing" });
    expect(lettered[0]!.payload.identity).toMatchObject({ role: "consumer", pid: process.pid });
  });

  it("does not retry an error that says it is not retriable", async () => {
    const topic = unique("t");
    let calls = 0;
    const koper = new Koper({ retry: fastRetry }).register(
      listen({
        topic,
        onMessage: () => {
          calls++;
          throw Object.assign(new Error("bad request"), { retriable: false });
        },
      }),
    );
    await koper.start();
    await koper.sender.send(topic, "x");
    await koper.stop();
    expect(calls).toBe(1);
    expect(koper.metrics().deadLettered).toBe(1);
  });
});

describe("ordering, groups, dedup", () => {
  it("handles one key's events in order while different keys run concurrently", async () => {
    const prefix = unique("p");
    const seen = new Map<number, string[]>();
    let running = 0;
    let maxRunning = 0;
    const koper = new Koper({ topics: { prefix }, concurrency: 8 }).register(
      dataListener<{ id: number; step: string }>()({
        entity: "Order",
        onUpdateOrder: async (order) => {
          maxRunning = Math.max(maxRunning, ++running);
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          seen.set(order.id, [...(seen.get(order.id) ?? []), order.step]);
          running--;
        },
      }),
    );
    await koper.start();
    for (let step = 0; step < 10; step++) {
      for (let id = 0; id < 8; id++) {
        await koper.capture.record(undefined, { ...orderDraft(id, "update"), data: { id, step: String(step) } });
      }
    }
    await koper.stop();
    for (let id = 0; id < 8; id++) expect(seen.get(id)).toEqual(Array.from({ length: 10 }, (_, s) => String(s)));
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(8);
  });

  it("gives every event to each group, and shares a group's events between its members", async () => {
    const topic = unique("t");
    const byMember: Record<string, string[]> = { a1: [], a2: [], b: [] };
    const member = (name: string, group: string) =>
      listen({ topic, group, onMessage: (p: string) => void byMember[name]!.push(p) });
    const koper = new Koper().register(member("a1", "A"), member("a2", "A"), member("b", "B"));
    await koper.start();
    const sent = Array.from({ length: 40 }, (_, i) => `m${i}`);
    for (const p of sent) await koper.sender.send(topic, p, { key: p });
    await koper.stop();
    expect(byMember.b).toEqual(sent);
    expect([...byMember.a1!, ...byMember.a2!].sort()).toEqual([...sent].sort());
    expect(byMember.a1!.length).toBeGreaterThan(0);
    expect(byMember.a2!.length).toBeGreaterThan(0);
  });

  it.each([
    [true, 1],
    [false, 2],
  ])("with dedup %s, a redelivered event reaches the handler %i time(s)", async (dedup, times) => {
    const prefix = unique("p");
    const topic = `${prefix}.Order`;
    const got: number[] = [];
    const koper = new Koper({ topics: { prefix } }).register(
      dataListener<{ id: number }>()({ entity: "Order", dedup, onInsertOrder: (o) => void got.push(o.id) }),
    );
    const copies: DeliveredMessage[] = [];
    await koper.start();
    // A raw member of another group keeps the published bytes, to deliver them again
    // as an at-least-once transport does after a crash.
    const spy = await koper.transport.subscribe({
      group: unique("spy"),
      topics: [topic],
      maxInFlight: 1,
      handle: async (m) => void copies.push(m),
    });
    await koper.capture.record(undefined, orderDraft(1));
    await until(() => copies.length === 1 && got.length === 1, "first delivery");
    await koper.transport.send([copies[0]!]);
    await spy.close();
    await koper.stop();
    expect(got).toEqual(Array(times).fill(1));
    expect(koper.metrics().deduplicated).toBe(dedup ? 1 : 0);
  });
});

describe("stop, lifecycle, metrics", () => {
  it("drains accepted messages before stopping", async () => {
    const topic = unique("t");
    const got: number[] = [];
    const koper = new Koper().register(
      listen({
        topic,
        onMessage: async (i: number) => {
          await new Promise((r) => setImmediate(r));
          got.push(i);
        },
      }),
    );
    await koper.start();
    await Promise.all(Array.from({ length: 200 }, (_, i) => koper.sender.send(topic, i)));
    await koper.stop();
    expect(got).toHaveLength(200);
  });

  it("lets a second stop() wait for the first to finish", async () => {
    const topic = unique("t");
    const gate = deferred();
    let finished = false;
    const koper = new Koper().register(
      listen({
        topic,
        onMessage: async () => {
          await gate.promise;
          finished = true;
        },
      }),
    );
    await koper.start();
    await koper.sender.send(topic, "x");
    const first = koper.stop();
    const second = koper.stop().then(() => finished);
    gate.resolve();
    expect(await second).toBe(true);
    await first;
  });

  it("gives up on a handler that never returns when the deadline passes, with a typed error", async () => {
    const topic = unique("t");
    const started = deferred();
    const koper = new Koper().register(
      listen({
        topic,
        onMessage: () => {
          started.resolve();
          return new Promise(() => {});
        },
      }),
    );
    await koper.start();
    await koper.sender.send(topic, "stuck");
    await started.promise;
    const error = await koper.stop({ deadlineMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({ code: "stop_deadline_exceeded", details: { unfinished: 1 } });
    expect(isKoperError(error)).toBe(true);
  });

  it("reports published, handled and dropped lifecycle events with identity, and per-stage latency", async () => {
    const prefix = unique("p");
    const seen: string[] = [];
    const koper = new Koper({ topics: { prefix }, clientId: "shop-api" }).register(
      dataListener()({ entity: "Order", onInsertOrder: () => {} }),
    );
    let identity: unknown;
    koper.on("published", (e) => {
      seen.push(`published:${e.payload.count}`);
      identity = e.payload.identity;
    });
    koper.on("handled", (e) => void seen.push(`handled:${e.payload.attempts}`));
    koper.on("dropped", (e) => void seen.push(`dropped:${e.payload.reason}:${e.payload.ids.length}`));
    await koper.start();
    const tx = {};
    koper.capture.begin(tx);
    await koper.capture.record(tx, orderDraft(1));
    await koper.capture.record(tx, orderDraft(2));
    await koper.capture.commit(tx);
    const poisoned = {};
    koper.capture.begin(poisoned);
    await koper.capture.record(poisoned, orderDraft(3));
    koper.capture.poison(poisoned);
    await koper.capture.commit(poisoned);
    await koper.stop();
    expect(seen.sort()).toEqual(["dropped:poisoned:1", "handled:1", "handled:1", "published:2"]);
    expect(identity).toMatchObject({ role: "producer", clientId: "shop-api", pid: process.pid });
    const metrics = koper.metrics();
    expect(metrics).toMatchObject({ published: 2, handled: 2, dropped: 1 });
    for (const stage of ["commit", "publish", "deliver", "handle", "total"] as const) {
      expect(metrics.latency[stage].count).toBe(2);
      expect(metrics.latency[stage].p99).toBeGreaterThanOrEqual(metrics.latency[stage].p50);
    }
  });

  it("reports an oversize data event as publish_failed and still publishes the rest of its transaction", async () => {
    const prefix = unique("p");
    const got: number[] = [];
    const failed: LifecycleEvent<"publish_failed">[] = [];
    const koper = new Koper({ topics: { prefix }, maxPayloadBytes: 2000 }).register(
      dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (o) => void got.push(o.id) }),
    );
    koper.on("publish_failed", (e) => void failed.push(e));
    await koper.start();
    const tx = {};
    koper.capture.begin(tx);
    await koper.capture.record(tx, orderDraft(1));
    await koper.capture.record(tx, { ...orderDraft(2), data: { id: 2, blob: "x".repeat(5000) } });
    await koper.capture.commit(tx);
    await koper.stop();
    expect(got).toEqual([1]);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.payload.error).toMatchObject({ code: "payload_too_large" });
    expect(koper.metrics().publishFailed).toBe(1);
  });

  it("refuses register after start", async () => {
    const koper = new Koper();
    await koper.start();
    expect(() => koper.register(listen({ topic: "x", onMessage: () => {} }))).toThrow(/before koper.start/);
    await koper.stop();
  });

  it("decodes what it published: the dead-letter copy is the original bytes", async () => {
    const prefix = unique("p");
    const topic = `${prefix}.Order`;
    const dlq = deadLetters(topic);
    const koper = new Koper({ topics: { prefix }, retry: { retries: 0 } }).register(
      dataListener()({
        entity: "Order",
        onInsertOrder: () => {
          throw new Error("nope");
        },
      }),
      dlq.listener,
    );
    await koper.start();
    await koper.capture.record(undefined, orderDraft(5));
    await koper.stop();
    const event = decode(dlq.received[0]!.meta.raw) as DataEvent;
    expect(event).toMatchObject({ entity: "Order", key: { id: 5 }, data: { id: 5, qty: 5 } });
  });
});
