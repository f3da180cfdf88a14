import { isKoperError } from "@koper/core";
import { describe, expect } from "vitest";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/** Explicit transactions, migrations, the ORM's own errors, concurrency. */
export function lifecycleContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("lifecycle", () => {
    contractTest("lifecycle.explicit-transaction", "an explicitly opened transaction publishes at commit; one rolled back publishes nothing", async () => {
      const { koper, listener, db } = world();
      const [a, b] = [num(), num()];
      const first = await db.begin();
      await first.insertOrder({ number: a, qty: 1 });
      expect(listener.calls).toEqual([]);
      await first.commit();
      const second = await db.begin();
      await second.insertOrder({ number: b, qty: 1 });
      await second.rollback();
      expect(await db.findOrderByNumber(b)).toBeNull();
      expect((await listener.settle(koper)).map((c) => c.event.data?.number)).toEqual([a]);
    });

    contractTest("lifecycle.migrations-silent", "writes made by a migration publish nothing; writes after it do", async () => {
      const { koper, listener, db } = world();
      const seeded = num();
      await db.runMigration(async (ops) => {
        await ops.insertOrder({ number: seeded, qty: 1 });
      });
      expect(await db.findOrderByNumber(seeded)).not.toBeNull();
      await db.insertOrder({ number: num(), qty: 2 });
      expect((await listener.settle(koper)).map((c) => c.event.data?.qty)).toEqual([2]);
    });

    contractTest("lifecycle.orm-error-unchanged", "the application gets the ORM's own error, the same with and without Koper; the driver's code is kept", async () => {
      const { koper, listener, db } = world();
      const number = num();
      await db.insertOrder({ number, qty: 1 });
      const fail = () => db.insertOrder({ number, qty: 2 }).then(() => undefined, (e: unknown) => e as Error);
      const withKoper = await fail();
      db.detach();
      const without = await fail();
      expect(withKoper).toBeInstanceOf(Error);
      expect(isKoperError(withKoper)).toBe(false);
      expect(withKoper!.constructor).toBe(without!.constructor);
      expect(withKoper!.message).toBe(without!.message);
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onInsertOrder_X"]);
      const original = calls[1]!.event.error?.original?.code;
      const expected = { postgres: "23505", mariadb: "ER_DUP_ENTRY", sqlite: undefined }[db.capabilities.dialect];
      if (expected) expect(original).toBe(expected);
    });

    contractTest("lifecycle.deadlock-victim", "a deadlock victim's transaction publishes nothing; the survivor's does (rows and events agree)", async (ctx) => {
      const { koper, listener, db } = world();
      if (!db.capabilities.concurrentTransactions) ctx.skip(); // one connection, no row locks
      const x = await db.insertOrder({ number: num(), qty: 1 });
      const y = await db.insertOrder({ number: num(), qty: 1 });
      const txs = [await db.begin(), await db.begin()] as const;
      const numbers = [num(), num()];
      for (const [i, tx] of txs.entries()) {
        await tx.insertOrder({ number: numbers[i]!, qty: 5 });
        await tx.updateOrder([x, y][i]!.id, { qty: 2 });
      }
      // Each now wants the row the other holds: the database picks a victim.
      const outcomes = await Promise.all(txs.map((tx, i) => tx.updateOrder([y, x][i]!.id, { qty: 3 }).then(() => "ok", (e: unknown) => e)));
      expect(outcomes.filter((o) => o instanceof Error)).toHaveLength(1);
      // The survivor first: a victim's commit may retry its writes (MikroORM flushes before COMMIT)
      // and would then wait on the survivor's locks.
      const victim = outcomes.findIndex((o) => o instanceof Error);
      for (const tx of [txs[1 - victim]!, txs[victim]!]) await tx.commit().catch(() => tx.rollback().catch(() => {}));
      const calls = await listener.settle(koper);
      const published = calls.filter((c) => c.handler === "onInsertOrder").map((c) => c.event.data?.number);
      const stored: string[] = [];
      for (const number of numbers) if (await db.findOrderByNumber(number)) stored.push(number);
      expect(stored).toHaveLength(1);
      expect(published.filter((n) => numbers.includes(n as string))).toEqual(stored);
    });
  });
}
