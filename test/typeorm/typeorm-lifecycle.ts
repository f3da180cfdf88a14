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

    it("a deadlock victim's transaction publishes nothing; the survivor's does (rows and events agree)", async (ctx) => {
      if (db.name === "sqlite") ctx.skip(); // one connection, no row locks
      const { koper, orders, dataSource, entities } = await setup();
      const [x, y] = await dataSource.manager.save(entities.Order, [{ number: num(), qty: 1 }, { number: num(), qty: 1 }]);
      const runners = [dataSource.createQueryRunner(), dataSource.createQueryRunner()] as const;
      const numbers = [num(), num()];
      try {
        for (const [i, runner] of runners.entries()) {
          await runner.startTransaction();
          await runner.manager.save(entities.Order, { number: numbers[i]!, qty: 5 });
          await runner.manager.update(entities.Order, [x, y][i]!.id, { qty: 2 });
        }
        // Each now wants the row the other holds: the database picks a victim.
        const outcomes = await Promise.all(runners.map((runner, i) => runner.manager.update(entities.Order, [y, x][i]!.id, { qty: 3 }).then(() => "ok", (e: Error) => e)));
        expect(outcomes.filter((o) => o instanceof QueryFailedError)).toHaveLength(1);
        for (const runner of runners) await runner.commitTransaction().catch(() => {});
      } finally {
        for (const runner of runners) await runner.release();
      }
      const calls = await orders.settle(koper);
      const published = calls.filter((c) => c.handler === "onInsertOrder").map((c) => c.event.data?.number);
      const stored = [];
      for (const number of numbers) if ((await dataSource.manager.countBy(entities.Order, { number })) > 0) stored.push(number);
      expect(stored).toHaveLength(1);
      expect(published.filter((n) => numbers.includes(n as string))).toEqual(stored);
    });

    it("the application sees TypeORM's own error, the same with and without Koper; the driver code is kept", async () => {
      const { dataSource, entities, handle, orders, koper } = await setup();
      const number = num();
      await dataSource.manager.save(entities.Order, { number, qty: 1 });
      const fail = () => dataSource.manager.save(entities.Order, { number, qty: 2 }).then(() => undefined, (e: unknown) => e as InstanceType<typeof QueryFailedError>);
      const withKoper = await fail();
      handle.detach();
      const without = await fail();
      expect(withKoper).toBeInstanceOf(QueryFailedError);
      expect(isKoperError(withKoper)).toBe(false);
      expect(withKoper!.constructor).toBe(without!.constructor);
      expect(withKoper!.message).toBe(without!.message);
      expect((withKoper!.driverError as { code?: unknown }).code).toBe((without!.driverError as { code?: unknown }).code);
      const calls = await orders.settle(koper);
      const original = calls.find((c) => c.handler === "onInsertOrder_X")!.event.error?.original?.code;
      if (db.name === "postgres") expect(original).toBe("23505");
      if (db.name === "mariadb") expect(original).toBe("ER_DUP_ENTRY");
    });

    it("schema sync and migrations publish nothing; writes after them do", async () => {
      const table = `migrations_${suffix()}`;
      let Order: unknown;
      class SeedOrders implements MigrationInterface {
        name = `SeedOrders${Date.now()}`;
        async up(runner: QueryRunner) {
          await runner.manager.save(Order as Entities["Order"], { number: "seeded", qty: 1 });
        }
        async down() {}
      }
      const s = await setup({}, { attachBeforeInit: true, extra: { migrations: [SeedOrders], migrationsTableName: table } });
      Order = s.entities.Order;
      cleanups.push(() => s.dataSource.query(`DROP TABLE ${s.dataSource.driver.escape(table)}`).then(() => {}));
      await s.dataSource.synchronize();
      await s.dataSource.runMigrations();
      expect(await s.dataSource.manager.countBy(s.entities.Order, { number: "seeded" })).toBe(1);
      await s.dataSource.manager.save(s.entities.Order, { number: num(), qty: 2 });
      const calls = await s.orders.settle(s.koper);
      expect(calls.map((c) => c.event.data?.qty)).toEqual([2]);
    });

    it("entities/exclude filter what is captured; an unknown entity name is refused", async () => {
      const { koper, orders, dataSource, entities } = await setup({ exclude: ["Customer"] });
      await dataSource.manager.save(entities.Customer, { email: `${num()}@x.io`, passwordHash: "h" });
      await dataSource.manager.save(entities.Order, { number: num(), qty: 1 });
      expect((await orders.settle(koper)).map((c) => c.handler)).toEqual(["onInsertOrder"]);
      expect(() => koperTypeorm(dataSource, new Koper(), { entities: ["Ordre"] })).toThrow(/already attached/);
      const other = makeDataSource(db);
      await other.dataSource.initialize();
      cleanups.push(() => dropAndClose(other.dataSource, other.entities));
      expect(() => koperTypeorm(other.dataSource, new Koper(), { entities: ["Ordre"] })).toThrow(/"Ordre".*Known entities: Customer, Order, OrderLine/);
    });

    it("bulk: false drops criteria writes; entities: [Order] keeps only Order", async () => {
      const { koper, orders, dataSource, entities } = await setup({ bulk: false, entities: ["Order"] });
      await dataSource.manager.save(entities.Customer, { email: `${num()}@x.io`, passwordHash: "h" });
      const order = await dataSource.manager.save(entities.Order, { number: num(), qty: 1 });
      await dataSource.manager.update(entities.Order, { id: order.id }, { qty: 2 });
      await dataSource.manager.delete(entities.Order, { qty: 2 });
      expect((await orders.settle(koper)).map((c) => c.handler)).toEqual(["onInsertOrder"]);
    });

    it("failures: false publishes no failure event and installs no before-hooks", async () => {
      const { koper, orders, dataSource, entities, handle } = await setup({ failures: false });
      expect("beforeInsert" in handle.subscriber).toBe(false);
      const number = num();
      await dataSource.manager.save(entities.Order, { number, qty: 1 });
      await expect(dataSource.manager.save(entities.Order, { number, qty: 2 })).rejects.toBeInstanceOf(QueryFailedError);
      expect((await orders.settle(koper)).map((c) => c.handler)).toEqual(["onInsertOrder"]);
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
