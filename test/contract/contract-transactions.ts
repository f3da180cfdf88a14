import { describe, expect } from "vitest";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/** Commit-only publishing, rollback, savepoints, poisoned transactions. */
export function transactionsContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("transactions", () => {
    contractTest("transactions.commit-only", "publishes only at commit: nothing leaves while the transaction is open", async () => {
      const { listener, db, publishedIds } = world();
      const seenInside: number[] = [];
      await db.transaction(async (tx) => {
        await tx.insertOrder({ number: num(), qty: 1 });
        await tx.insertOrder({ number: num(), qty: 2 });
        seenInside.push(publishedIds.length, listener.calls.length);
      });
      expect(seenInside).toEqual([0, 0]);
      const calls = await listener.waitFor(2);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onInsertOrder"]);
      expect(calls[0]!.event.transaction.id).toBe(calls[1]!.event.transaction.id);
      expect(calls.map((c) => c.event.transaction.position)).toEqual([0, 1]);
    });

    contractTest("transactions.rollback", "a rolled-back transaction publishes nothing", async () => {
      const { koper, listener, db, publishedIds } = world();
      const number = num();
      const boom = new Error("roll back please");
      await expect(db.transaction(async (tx) => {
        await tx.insertOrder({ number, qty: 1 });
        throw boom;
      })).rejects.toBe(boom);
      expect(await db.findOrderByNumber(number)).toBeNull();
      expect(await listener.settle(koper)).toEqual([]);
      expect(publishedIds).toEqual([]);
    });

    contractTest("transactions.savepoint-rollback", "a rolled-back savepoint drops only its own events", async () => {
      const { koper, listener, db } = world();
      const [a, b, c] = [num(), num(), num()];
      await db.transaction(async (tx) => {
        await tx.insertOrder({ number: a, qty: 1 });
        await tx.savepoint(async (inner) => {
          await inner.insertOrder({ number: b, qty: 2 });
          throw new Error("undo the savepoint");
        }).catch(() => {});
        await tx.savepoint((inner) => inner.insertOrder({ number: c, qty: 3 }).then(() => {}));
      });
      expect(await db.findOrderByNumber(b)).toBeNull();
      const calls = await listener.settle(koper);
      expect(calls.map((call) => call.event.data?.number)).toEqual([a, c]);
      expect(calls.map((call) => call.event.transaction.position)).toEqual([0, 1]);
    });

    contractTest("transactions.savepoint-failure", "a failure inside a rolled-back savepoint leaves the outer transaction committing normally", async () => {
      const { koper, listener, db } = world();
      const [a, dup, c] = [num(), num(), num()];
      await db.insertOrder({ number: dup, qty: 1 });
      await db.transaction(async (tx) => {
        await tx.insertOrder({ number: a, qty: 1 });
        await tx.savepoint((inner) => inner.insertOrder({ number: dup, qty: 2 }).then(() => {})).catch(() => {});
        await tx.insertOrder({ number: c, qty: 3 });
      });
      expect(await db.findOrderByNumber(c)).not.toBeNull();
      const calls = await listener.settle(koper);
      expect(calls.map((call) => call.handler)).toEqual(["onInsertOrder", "onInsertOrder_X", "onInsertOrder", "onInsertOrder"]);
      expect(calls.filter((call) => call.handler === "onInsertOrder").map((call) => call.event.data?.number)).toEqual([dup, a, c]);
    });

    contractTest("transactions.failed-write-rolls-back", "a failed write inside a transaction that rolls back: the failure event, and no other", async () => {
      const { koper, listener, db } = world();
      const [a] = [num()];
      await db.insertOrder({ number: "dup-" + a, qty: 1 });
      await expect(db.transaction(async (tx) => {
        await tx.insertOrder({ number: a, qty: 1 });
        await tx.insertOrder({ number: "dup-" + a, qty: 2 });
      })).rejects.toBeInstanceOf(Error);
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onInsertOrder_X"]);
      expect(calls[1]!.event.error?.code).toBe("unique_violation");
      expect(await db.findOrderByNumber(a)).toBeNull();
    });

    contractTest("transactions.swallowed-failure", "a swallowed failure: events follow what the database really committed", async () => {
      const { koper, listener, db } = world();
      const [a, dup] = [num(), num()];
      await db.insertOrder({ number: dup, qty: 1 });
      await db.transaction(async (tx) => {
        await tx.insertOrder({ number: a, qty: 1 });
        await tx.insertOrder({ number: dup, qty: 2 }).catch(() => {});
      }).catch(() => {});
      const committed = (await db.findOrderByNumber(a)) !== null;
      expect(committed).toBe(!db.capabilities.failedStatementAbortsTransaction);
      const calls = await listener.settle(koper);
      const inserts = calls.filter((c) => c.handler === "onInsertOrder").map((c) => c.event.data?.number);
      expect(inserts).toEqual(committed ? [dup, a] : [dup]);
      expect(calls.filter((c) => c.handler === "onInsertOrder_X")).toHaveLength(1);
    });
  });
}
