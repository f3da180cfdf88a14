import { isKoperError } from "@koper/core";
import { describe, expect } from "vitest";
import type { HarnessCapabilities } from "./harness.ts";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/** Failure events: normalized codes, attempted values, `_X` handlers. */
export function failuresContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("failures", () => {
    contractTest("failures.unique", "a unique violation publishes one failure event to onInsertOrder_X, and the app still gets the ORM's error", async () => {
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

    contractTest("failures.context", "a failed write's event carries the context (runWith) of the write's caller", async () => {
      const { koper, listener, db } = world();
      const number = num();
      await db.insertOrder({ number, qty: 1 });
      await koper.runWith({ actor: "mallory", requestId: "r-fail" }, () => db.insertOrder({ number, qty: 2 }).then(() => undefined, () => undefined));
      const calls = await listener.waitFor(2);
      const failed = calls.find((c) => c.handler === "onInsertOrder_X");
      expect(failed?.event.context).toMatchObject({ actor: "mallory", requestId: "r-fail" });
    });

    contractTest("failures.foreign-key", "a foreign key violation publishes foreign_key_violation", async () => {
      const { listener, db } = world();
      await expect(db.insertOrder({ number: num(), qty: 1, customerId: 987_654 })).rejects.toBeInstanceOf(Error);
      const [call] = await listener.waitFor(1);
      expect(call!.handler).toBe("onInsertOrder_X");
      expect(call!.event.error?.code).toBe("foreign_key_violation");
      // The reference by its join column's field (TypeORM `customerId`) or its property (MikroORM `customer`).
      expect(call!.event.data?.customerId ?? call!.event.data?.customer).toBe(987_654);
    });

    contractTest("failures.not-null", "a missing required value publishes not_null_violation (validation_error where the ORM refuses it before SQL)", async () => {
      const { listener, db } = world();
      await expect(db.insertOrderWithoutNumber(4)).rejects.toBeInstanceOf(Error);
      const [call] = await listener.waitFor(1);
      expect(call!.handler).toBe("onInsertOrder_X");
      expect(call!.event.error?.code).toBe(missingValueCode(db.capabilities));
      expect(call!.event.data).toMatchObject({ qty: 4 });
    });

    contractTest("failures.check-update", "a failed update (check violation) reaches onUpdateOrder_X with the attempted values", async (ctx) => {
      const { listener, db } = world();
      if (!db.capabilities.checkConstraints) ctx.skip();
      const order = await db.insertOrder({ number: num(), qty: 1 });
      await expect(db.updateOrder(order.id, { qty: -5 })).rejects.toBeInstanceOf(Error);
      const calls = await listener.waitFor(2);
      const failed = calls.find((c) => c.handler === "onUpdateOrder_X")!;
      expect(failed.event).toMatchObject({ action: "update", outcome: "failed", key: { id: order.id } });
      expect(failed.event.data).toMatchObject({ qty: -5 });
      expect(failed.event.error?.code).toBe("check_violation");
      // The driver's own code: PostgreSQL's SQLSTATE, MariaDB's name (mysql2 calls 4025 by MySQL's name for another error).
      const expected = { postgres: "23514", mariadb: "ER_CONSTRAINT_FAILED", sqlite: undefined }[db.capabilities.dialect];
      if (expected) expect(failed.event.error?.original?.code).toBe(expected);
      expect((await db.findOrder(order.id))?.qty).toBe(1);
    });

    contractTest("failures.delete-referenced", "a failed delete (row still referenced) reaches onDeleteCustomer_X with foreign_key_violation", async () => {
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

    contractTest("failures.cascade-child", "a cascading insert that fails on a child publishes the failure of the rows its statement carried, and no insert", async () => {
      const { koper, listener, db } = world();
      const number = num();
      await expect(db.insertOrderWithLines({ number, qty: 2 }, [{ sku: "A", qty: 1 }, { sku: null, qty: 7 }])).rejects.toBeInstanceOf(Error);
      const calls = await listener.settle(koper);
      expect(calls.filter((c) => !c.handler.endsWith("_X"))).toEqual([]);
      const failures = calls.filter((c) => c.handler === "onInsertOrderLine_X").map((c) => c.event);
      // One INSERT per line (sql.js via TypeORM) fails on the bad line only; a batched INSERT of
      // both lines fails as a whole, and then each row it carried has its failure event.
      const qtys = failures.map((e) => e.data?.qty).sort();
      expect([[7], [1, 7]]).toContainEqual(qtys);
      expect(failures.every((e) => e.error?.code === missingValueCode(db.capabilities) && e.outcome === "failed")).toBe(true);
      expect(await db.findOrderByNumber(number)).toBeNull();
    });
  });
}

/** The failure code of a missing required value: the ORM's own validation, or the database's constraint. */
function missingValueCode(capabilities: HarnessCapabilities): string {
  return capabilities.validatesRequired ? "validation_error" : "not_null_violation";
}
