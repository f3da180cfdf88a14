import { Koper, isKoperError } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import type { MigrationInterface, QueryRunner } from "typeorm";
import { describe, expect, it } from "vitest";
import { dropAndClose, makeDataSource, suffix, type Database } from "./databases.ts";
import type { Entities } from "./entities.ts";
import { num, useSetup } from "./setup.ts";

/** TypeORM transactions, errors, schema sync, options and limits, beyond the contract. */
export function runTypeormLifecycle(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`typeorm lifecycle: ${db.name}`, () => {
    const { setup, cleanups } = useSetup(db);
    const { QueryFailedError } = db.orm;

    it("QueryRunner transactions: commit publishes, rollback and a rolled-back inner level publish nothing", async () => {
      const { koper, orders, dataSource, entities } = await setup();
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      const [a, b, c] = [num(), num(), num()];
      try {
        await runner.startTransaction();
        await runner.manager.save(entities.Order, { number: a, qty: 1 });
        await runner.startTransaction(); // a savepoint on the same runner
        await runner.manager.save(entities.Order, { number: b, qty: 1 });
        await runner.rollbackTransaction();
        expect(orders.calls).toEqual([]);
        await runner.commitTransaction();
        await runner.startTransaction();
        await runner.manager.save(entities.Order, { number: c, qty: 1 });
        await runner.rollbackTransaction();
      } finally {
        await runner.release();
      }
      const calls = await orders.settle(koper);
      expect(calls.map((call) => call.event.data?.number)).toEqual([a]);
    });

    it("after a swallowed failure, PostgreSQL refuses every later write (25P02); the others commit them", async () => {
      const { koper, orders, dataSource, entities } = await setup();
      const [dup, a, b] = [num(), num(), num()];
      await dataSource.manager.save(entities.Order, { number: dup, qty: 1 });
      await dataSource.transaction(async (manager) => {
        await manager.save(entities.Order, { number: a, qty: 1 });
        await manager.save(entities.Order, { number: dup, qty: 2 }).catch(() => {});
        await manager.save(entities.Order, { number: b, qty: 3 }).catch(() => {});
      });
      const calls = await orders.settle(koper);
      const failures = calls.filter((c) => c.handler === "onInsertOrder_X").map((c) => [c.event.data?.number, c.event.error?.code, c.event.error?.original?.code]);
      const inserted = calls.filter((c) => c.handler === "onInsertOrder").map((c) => c.event.data?.number);
      if (db.name === "postgres") {
        expect(failures).toEqual([[dup, "unique_violation", "23505"], [b, "unknown", "25P02"]]);
        expect(inserted).toEqual([dup]);
      } else {
        expect(failures.map((f) => f.slice(0, 2))).toEqual([[dup, "unique_violation"]]);
        expect(inserted).toEqual([dup, a, b]);
      }
      expect(await dataSource.manager.countBy(entities.Order, { number: a })).toBe(db.name === "postgres" ? 0 : 1);
    });

    it("a second attach is refused; an unknown entity name lists the known ones", async () => {
      const { dataSource } = await setup();
      expect(() => koperTypeorm(dataSource, new Koper(), { entities: ["Ordre"] })).toThrow(/already attached/);
      const other = makeDataSource(db);
      await other.dataSource.initialize();
      cleanups.push(() => dropAndClose(other.dataSource, other.entities));
      expect(() => koperTypeorm(other.dataSource, new Koper(), { entities: ["Ordre"] })).toThrow(/"Ordre".*Known entities: Customer, Order, OrderLine/);
    });

    it("the subscriber has no insert/update/soft-remove/recover before-hooks, failures on or off (TypeORM then skips recomputing each save's subjects)", async () => {
      const hooks = ["beforeInsert", "beforeUpdate", "beforeSoftRemove", "beforeRecover"];
      for (const { handle } of [await setup({ failures: false }), await setup()]) {
        expect(hooks.filter((hook) => hook in handle.subscriber)).toEqual([]);
      }
    });

    it("detach() stops publishing", async () => {
      const { koper, orders, dataSource, entities, handle } = await setup();
      await dataSource.manager.save(entities.Order, { number: num(), qty: 1 });
      handle.detach();
      await dataSource.manager.save(entities.Order, { number: num(), qty: 2 });
      expect((await orders.settle(koper)).map((c) => c.event.data?.qty)).toEqual([1]);
      expect(dataSource.subscribers).not.toContain(handle.subscriber);
    });

    it("documented limits: save(…, { listeners: false }) publishes nothing", async () => {
      const { koper, orders, dataSource, entities } = await setup();
      const number = num();
      await dataSource.manager.save(entities.Order, { number, qty: 1 }, { listeners: false });
      await expect(dataSource.manager.save(entities.Order, { number, qty: 2 }, { listeners: false })).rejects.toBeInstanceOf(QueryFailedError);
      expect(await orders.settle(koper)).toEqual([]);
    });
  });
}
