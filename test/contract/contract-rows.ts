import { describe, expect } from "vitest";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Row events: fields, order of one row, redaction, context. */
export function rowsContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("row events", () => {
    contractTest("rows.insert", "an insert reaches onInsertOrder with the generated key, the row, source, transaction and time points", async () => {
      const { listener, db } = world();
      const number = num();
      const order = await db.insertOrder({ number, qty: 2 });
      const [call] = await listener.waitFor(1);
      expect(call!.handler).toBe("onInsertOrder");
      const event = call!.event;
      expect(event.id).toMatch(UUID_V7);
      expect(event).toMatchObject({ entity: "Order", action: "insert", outcome: "committed", key: { id: order.id } });
      expect(event.data).toMatchObject({ id: order.id, number, qty: 2 });
      expect(call!.entity).toEqual(event.data);
      expect(event.bulk).toBeUndefined();
      expect(event.source.orm).toBe(db.orm);
      expect(event.source.service).toBe("contract");
      expect(typeof event.source.table).toBe("string");
      expect(event.transaction.id.length).toBeGreaterThan(0);
      expect(event.transaction.position).toBe(0);
      const t = event.time;
      expect(t.committed).toBeGreaterThanOrEqual(t.occurred);
      expect(t.published).toBeGreaterThanOrEqual(t.committed!);
      expect(t.received).toBeGreaterThanOrEqual(t.published!);
    });

    contractTest("rows.update", "an update reaches onUpdateOrder with the row after, the row before and the changed fields", async () => {
      const { listener, db } = world();
      const number = num();
      const order = await db.insertOrder({ number, qty: 2 });
      await db.updateOrder(order.id, { qty: 7 });
      const calls = await listener.waitFor(2);
      const update = calls.find((c) => c.handler === "onUpdateOrder")!;
      expect(update.event).toMatchObject({ action: "update", key: { id: order.id }, outcome: "committed" });
      expect(update.event.data).toMatchObject({ id: order.id, number, qty: 7 });
      expect(update.event.before).toMatchObject({ id: order.id, number, qty: 2 });
      expect(update.event.changes).toContain("qty");
      expect(update.event.changes).not.toContain("number");
    });

    contractTest("rows.delete", "a delete reaches onDeleteOrder with the row as it was, and no data", async () => {
      const { listener, db } = world();
      const number = num();
      const order = await db.insertOrder({ number, qty: 3 });
      await db.deleteOrder(order.id);
      const calls = await listener.waitFor(2);
      const del = calls.find((c) => c.handler === "onDeleteOrder")!;
      expect(del.event).toMatchObject({ action: "delete", key: { id: order.id }, data: null });
      expect(del.event.before).toMatchObject({ id: order.id, number, qty: 3 });
      expect(del.entity).toMatchObject({ id: order.id, number });
      expect(await db.findOrder(order.id)).toBeNull();
    });

    contractTest("rows.order-of-one-row", "events of one row arrive in order: insert, update, update, delete", async () => {
      const { listener, db } = world();
      const order = await db.insertOrder({ number: num(), qty: 1 });
      await db.updateOrder(order.id, { qty: 2 });
      await db.updateOrder(order.id, { qty: 3 });
      await db.deleteOrder(order.id);
      const calls = await listener.waitFor(4);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onUpdateOrder", "onDeleteOrder"]);
      expect(calls.map((c) => (c.event.data ?? c.event.before)?.qty)).toEqual([1, 2, 3, 3]);
    });

    contractTest("rows.redaction", "redaction removes configured fields before the event leaves the process", async () => {
      const { listener, db } = world();
      const customer = await db.insertCustomer({ email: `${num()}@example.com`, passwordHash: "secret-hash" });
      const [call] = await listener.waitFor(1);
      expect(call!.handler).toBe("onInsertCustomer");
      expect(call!.event.data).toMatchObject({ id: customer.id, email: customer.email });
      expect(call!.event.data).not.toHaveProperty("passwordHash");
      expect(JSON.stringify(call!.event)).not.toContain("secret-hash");
    });

    contractTest("rows.context", "context set with koper.runWith (actor, request id) is stamped on the event", async () => {
      const { koper, listener, db } = world();
      await koper.runWith({ actor: "alice", requestId: "r1" }, () => db.insertOrder({ number: num(), qty: 1 }));
      await db.transaction((tx) => koper.runWith({ actor: "bob" }, () => tx.insertOrder({ number: num(), qty: 1 }).then(() => {})));
      const calls = await listener.waitFor(2);
      expect(calls[0]!.event.context).toMatchObject({ actor: "alice", requestId: "r1" });
      expect(calls[1]!.event.context).toMatchObject({ actor: "bob" });
    });

    contractTest("rows.cascade", "a cascading insert publishes one event per row, all in one transaction, children naming their parent", async () => {
      const { koper, listener, db } = world();
      const order = await db.insertOrderWithLines({ number: num(), qty: 2 }, [{ sku: "A", qty: 1 }, { sku: "B", qty: 1 }]);
      const calls = await listener.settle(koper);
      expect(calls.filter((c) => c.handler === "onInsertOrder")).toHaveLength(1);
      const lines = calls.filter((c) => c.handler === "onInsertOrderLine").map((c) => c.event);
      expect(lines.map((e) => e.data?.sku).sort()).toEqual(["A", "B"]);
      // The parent is named by the relation: its key under the join column's field (TypeORM
      // `orderId`) or under the relation's property (MikroORM `order`).
      expect(lines.every((e) => (e.data?.orderId ?? e.data?.order) === order.id && typeof e.key?.id === "number")).toBe(true);
      const events = calls.map((c) => c.event);
      expect(new Set(events.map((e) => e.transaction.id)).size).toBe(1);
      expect(events.map((e) => e.transaction.position).sort()).toEqual([0, 1, 2]);
    });
  });
}
