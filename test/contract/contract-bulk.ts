import { isKoperError, type DataEvent } from "@koper/core";
import { describe, expect } from "vitest";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/** Writes by criteria: bulk events to `onBulk…` handlers only. */
export function bulkContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("bulk writes", () => {
    contractTest("bulk.update", "an update by criteria reaches onBulkUpdateOrder only, with criteria, set values and affected count", async () => {
      const { koper, listener, db } = world();
      for (const qty of [1, 5, 9]) await db.insertOrder({ number: num(), qty });
      await db.bulkUpdateOrders(5, "big");
      const calls = await listener.settle(koper);
      expect(calls.filter((c) => c.handler === "onUpdateOrder")).toEqual([]);
      const bulk = calls.filter((c) => c.handler === "onBulkUpdateOrder");
      expect(bulk).toHaveLength(1);
      const event: DataEvent = bulk[0]!.event;
      expect(event).toMatchObject({ entity: "Order", action: "update", key: null, data: null });
      expect(event.bulk).toMatchObject({ set: { note: "big" }, affected: 2 });
      // The ORM's criteria API names the criteria object: `where` criteria, by property.
      expect(event.bulk!.criteria).toMatchObject({ kind: "where", where: { qty: expect.anything() } });
    });

    contractTest("bulk.delete", "a delete by criteria reaches onBulkDeleteOrder only, with the affected count", async () => {
      const { koper, listener, db } = world();
      for (const qty of [1, 5, 9]) await db.insertOrder({ number: num(), qty });
      await db.bulkDeleteOrders(5);
      const calls = await listener.settle(koper);
      expect(calls.filter((c) => c.handler === "onDeleteOrder")).toEqual([]);
      const bulk = calls.filter((c) => c.handler === "onBulkDeleteOrder");
      expect(bulk).toHaveLength(1);
      expect(bulk[0]!.event).toMatchObject({ action: "delete", key: null, bulk: { affected: 2 } });
    });

    contractTest("bulk.rolled-back", "a bulk write inside a rolled-back transaction publishes nothing", async () => {
      const { koper, listener, db } = world();
      await db.insertOrder({ number: num(), qty: 7 });
      await db.transaction(async (tx) => {
        await tx.bulkUpdateOrders(1, "never");
        throw new Error("no");
      }).catch(() => {});
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder"]);
    });

    contractTest("bulk.failed", "a failed criteria write reaches onBulkUpdateOrder_X with the normalized code and what it tried to set", async () => {
      const { koper, listener, db } = world();
      const [a, b] = [num(), num()];
      await db.insertOrder({ number: a, qty: 1 });
      await db.insertOrder({ number: b, qty: 2 });
      const error = await db.bulkRenumber(b, a).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(isKoperError(error)).toBe(false);
      const calls = await listener.settle(koper);
      expect(calls.filter((c) => c.handler === "onBulkUpdateOrder")).toEqual([]);
      const failed = calls.filter((c) => c.handler === "onBulkUpdateOrder_X");
      expect(failed).toHaveLength(1);
      expect(failed[0]!.event).toMatchObject({ entity: "Order", action: "update", outcome: "failed", key: null });
      expect(failed[0]!.event.error?.code).toBe("unique_violation");
      expect(failed[0]!.event.bulk?.set).toEqual({ number: a });
      expect((await db.findOrderByNumber(b))?.qty).toBe(2);
    });

    contractTest("bulk.upsert", "an upsert publishes one event per call with the upserted values; when the ORM cannot tell insert from update it is a bulk insert whose criteria name the conflict target", async () => {
      const { koper, listener, db } = world();
      const number = num();
      await db.upsertOrder({ number, qty: 1 });
      await db.upsertOrder({ number, qty: 2 });
      expect((await db.findOrderByNumber(number))?.qty).toBe(2);
      const calls = await listener.settle(koper);
      expect(calls).toHaveLength(2);
      calls.forEach((call, i) => {
        if (call.handler === "onBulkInsertOrder") {
          // The conflict target's values name the row, where the ORM says which it is (else null).
          expect([null, { kind: "where", where: { number } }]).toContainEqual(call.event.bulk!.criteria);
          expect(call.event.bulk!.set).toMatchObject({ number, qty: i + 1 });
        } else {
          expect(call.handler).toBe(i === 0 ? "onInsertOrder" : "onUpdateOrder");
          expect(call.event.data).toMatchObject({ number, qty: i + 1 });
        }
      });
    });
  });
}
