import { isKoperError } from "@koper/core";
import { describe, expect, it } from "vitest";
import { num, type ContractWorld } from "./world.ts";

/** Failure events: normalized codes, attempted values, `_X` handlers. */
export function failuresContract(world: () => ContractWorld): void {
  describe("failures", () => {
    it("a unique violation publishes one failure event to onInsertOrder_X, and the app still gets the ORM's error", async () => {
      const { koper, listener, db } = world();
      const number = num();
      await db.insertOrder({ number, qty: 1 });
      const error = await db.insertOrder({ number, qty: 9 }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(isKoperError(error)).toBe(false);
      const calls = await listener.waitFor(2);
      const failed = calls.filter((c) => c.handler === "onInsertOrder_X");
      expect(failed).toHaveLength(1);
      const event = failed[0]!.event;
      expect(event).toMatchObject({ entity: "Order", action: "insert", outcome: "failed" });
      expect(event.data).toMatchObject({ number, qty: 9 });
      expect(event.error).toMatchObject({ code: "unique_violation" });
      expect(event.error!.message.length).toBeGreaterThan(0);
      await listener.settle(koper);
      expect(listener.of("onInsertOrder")).toHaveLength(1);
    });

    it("a foreign key violation publishes foreign_key_violation", async () => {
      const { listener, db } = world();
      await expect(db.insertOrder({ number: num(), qty: 1, customerId: 987_654 })).rejects.toBeInstanceOf(Error);
      const [call] = await listener.waitFor(1);
      expect(call!.handler).toBe("onInsertOrder_X");
      expect(call!.event.error?.code).toBe("foreign_key_violation");
      expect(call!.event.data).toMatchObject({ customerId: 987_654 });
    });

    it("a not-null violation publishes not_null_violation", async () => {
      const { listener, db } = world();
      await expect(db.insertOrderWithoutNumber(4)).rejects.toBeInstanceOf(Error);
      const [call] = await listener.waitFor(1);
      expect(call!.handler).toBe("onInsertOrder_X");
      expect(call!.event.error?.code).toBe("not_null_violation");
      expect(call!.event.data).toMatchObject({ qty: 4 });
    });

    it("a failed update (check violation) reaches onUpdateOrder_X with the attempted values", async (ctx) => {
      const { listener, db } = world();
      if (!db.capabilities.checkConstraints) ctx.skip();
      const order = await db.insertOrder({ number: num(), qty: 1 });
      await expect(db.updateOrder(order.id, { qty: -5 })).rejects.toBeInstanceOf(Error);
      const calls = await listener.waitFor(2);
      const failed = calls.find((c) => c.handler === "onUpdateOrder_X")!;
      expect(failed.event).toMatchObject({ action: "update", outcome: "failed", key: { id: order.id } });
      expect(failed.event.data).toMatchObject({ qty: -5 });
      expect(failed.event.error?.code).toBe("check_violation");
      expect((await db.findOrder(order.id))?.qty).toBe(1);
    });

    it("a failed delete (row still referenced) reaches onDeleteCustomer_X with foreign_key_violation", async () => {
      const { koper, listener, db } = world();
      const customer = await db.insertCustomer({ email: `${num()}@example.com`, passwordHash: "h" });
      await db.insertOrder({ number: num(), qty: 1, customerId: customer.id });
      await expect(db.deleteCustomer(customer.id)).rejects.toBeInstanceOf(Error);
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertCustomer", "onInsertOrder", "onDeleteCustomer_X"]);
      const failed = calls[2]!.event;
      expect(failed).toMatchObject({ entity: "Customer", action: "delete", outcome: "failed", key: { id: customer.id }, data: null });
      expect(failed.error?.code).toBe("foreign_key_violation");
    });
  });
}
