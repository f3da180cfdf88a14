import { type DataEvent } from "@koper/core";
import { describe, expect, it } from "vitest";
import { num, type ContractWorld } from "./world.ts";

/** Writes by criteria: bulk events to `onBulk…` handlers only. */
export function bulkContract(world: () => ContractWorld): void {
  describe("bulk writes", () => {
    it("an update by criteria reaches onBulkUpdateOrder only, with criteria, set values and affected count", async () => {
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

    it("a delete by criteria reaches onBulkDeleteOrder only, with the affected count", async () => {
      const { koper, listener, db } = world();
      for (const qty of [1, 5, 9]) await db.insertOrder({ number: num(), qty });
      await db.bulkDeleteOrders(5);
      const calls = await listener.settle(koper);
      expect(calls.filter((c) => c.handler === "onDeleteOrder")).toEqual([]);
      const bulk = calls.filter((c) => c.handler === "onBulkDeleteOrder");
      expect(bulk).toHaveLength(1);
      expect(bulk[0]!.event).toMatchObject({ action: "delete", key: null, bulk: { affected: 2 } });
    });

    it("a bulk write inside a rolled-back transaction publishes nothing", async () => {
      const { koper, listener, db } = world();
      await db.insertOrder({ number: num(), qty: 7 });
      await db.transaction(async (tx) => {
        await tx.bulkUpdateOrders(1, "never");
        throw new Error("no");
      }).catch(() => {});
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder"]);
    });
  });
}
