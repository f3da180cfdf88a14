import { describe, expect } from "vitest";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/** The options every adapter takes (`entities`, `exclude`, `bulk`, `failures`), proven the same way for each. */
export function optionsContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("adapter options", () => {
    contractTest("options.exclude", "exclude: [Customer] captures everything but Customer", async () => {
      const { koper, listener, harness } = world();
      const db = await harness({ exclude: ["Customer"] });
      await db.insertCustomer({ email: `${num()}@example.com`, passwordHash: "h" });
      await db.insertOrder({ number: num(), qty: 1 });
      expect((await listener.settle(koper)).map((c) => c.handler)).toEqual(["onInsertOrder"]);
    });

    contractTest("options.entities", "entities: [Order] captures only Order", async () => {
      const { koper, listener, harness } = world();
      const db = await harness({ entities: ["Order"] });
      await db.insertCustomer({ email: `${num()}@example.com`, passwordHash: "h" });
      await db.insertOrderWithLines({ number: num(), qty: 1 }, [{ sku: "A", qty: 1 }]);
      expect((await listener.settle(koper)).map((c) => c.handler)).toEqual(["onInsertOrder"]);
    });

    contractTest("options.unknown-entity", "an unknown entity name in entities or exclude is refused, naming it", async () => {
      const { harness } = world();
      await expect(harness({ entities: ["Ordre"] })).rejects.toThrow(/"Ordre"/);
      await expect(harness({ exclude: ["Custmer"] })).rejects.toThrow(/"Custmer"/);
    });

    contractTest("options.bulk-off", "bulk: false publishes no bulk event; row writes still publish", async () => {
      const { koper, listener, harness } = world();
      const db = await harness({ bulk: false });
      await db.insertOrder({ number: num(), qty: 7 });
      await db.bulkUpdateOrders(5, "big");
      await db.bulkDeleteOrders(5);
      expect((await listener.settle(koper)).map((c) => c.handler)).toEqual(["onInsertOrder"]);
    });

    contractTest("options.failures-off", "failures: false publishes no failure event; the app still gets the error", async () => {
      const { koper, listener, harness } = world();
      const db = await harness({ failures: false });
      const [a, b] = [num(), num()];
      await db.insertOrder({ number: a, qty: 1 });
      await db.insertOrder({ number: b, qty: 1 });
      await expect(db.insertOrder({ number: a, qty: 2 })).rejects.toBeInstanceOf(Error);
      await expect(db.bulkRenumber(b, a)).rejects.toBeInstanceOf(Error);
      expect((await listener.settle(koper)).map((c) => c.handler)).toEqual(["onInsertOrder", "onInsertOrder"]);
    });
  });
}
