import { describe, expect, it } from "vitest";
import {
  DataListener,
  Headers,
  Koper,
  ListenerError,
  dataListener,
  listen,
  type DataEvent,
  type DeliveredMessage,
} from "@koper/core";
import { orderDraft, unique, until, deadLetters } from "./support.ts";

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
      bulk: { criteria: { kind: "where", where: { qty: { gt: 0 } } }, set: { qty: 0 }, affected: 4 },
      source: { orm: "test" },
    });
    await koper.capture.record(undefined, orderDraft(1, "delete"));
    await koper.capture.fail(undefined, orderDraft(2, "delete"), new Error("no _X handler for delete"));
    await koper.stop();
    // Order is promised per routing key: the row's events in write order; the bulk event (key null) on its own.
    const row = got.filter(([kind]) => kind !== "bulkUpdate");
    expect(row.map(([kind, entity]) => [kind, entity])).toEqual([
      ["insert", { id: 1, qty: 1 }],
      ["update", { id: 1, qty: 1 }],
      ["update_X", { id: 1, qty: 1 }],
      ["delete", { id: 1, qty: 1 }],
    ]);
    const bulk = got.filter(([kind]) => kind === "bulkUpdate");
    expect(bulk.map(([kind, entity]) => [kind, entity])).toEqual([["bulkUpdate", null]]);
    expect(row[2]![2].error).toMatchObject({ code: "check_violation", message: "boom" });
    expect(bulk[0]![2].bulk).toEqual({ criteria: { kind: "where", where: { qty: { gt: 0 } } }, set: { qty: 0 }, affected: 4 });
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
