import { describe, expect, it } from "vitest";
import type { Database } from "./databases.ts";
import { num, useSetup } from "./setup.ts";

/** What each TypeORM write call publishes, where the ORM-independent contract does not cover it. */
export function runTypeormWrites(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`typeorm writes: ${db.name}`, () => {
    const { setup } = useSetup(db);
    const { MoreThan, QueryFailedError } = db.orm;

    it("a cascade save publishes one event per row, in one transaction", async () => {
      const { koper, orders, lines, dataSource, entities } = await setup();
      const order = await dataSource.manager.save(
        dataSource.manager.create(entities.Order, { number: num(), qty: 2, lines: [{ sku: "A", qty: 1 }, { sku: "B", qty: 1 }] }),
      );
      await koper.stop();
      expect(orders.of("onInsertOrder")).toHaveLength(1);
      expect(lines.events.map((e) => e.data?.sku).sort()).toEqual(["A", "B"]);
      expect(lines.events.every((e) => e.data?.orderId === order.id && typeof e.key?.id === "number")).toBe(true);
      const txIds = new Set([orders.calls[0]!.event, ...lines.events].map((e) => e.transaction.id));
      expect(txIds.size).toBe(1);
      expect([orders.calls[0]!.event, ...lines.events].map((e) => e.transaction.position).sort()).toEqual([0, 1, 2]);
    });

    it("a cascade save that fails on a child publishes the child's failure and no insert", async () => {
      const { koper, orders, lines, dataSource, entities } = await setup();
      const number = num();
      const order = dataSource.manager.create(entities.Order, { number, qty: 2, lines: [{ sku: "A", qty: 1 }, { sku: null as unknown as string, qty: 7 }] });
      await expect(dataSource.manager.save(order)).rejects.toBeInstanceOf(QueryFailedError);
      await koper.stop();
      expect(orders.calls).toEqual([]);
      expect(lines.events).toHaveLength(0);
      // sql.js inserts the lines one by one; PostgreSQL and MariaDB batch them in one INSERT,
      // which fails as a whole: then each row it carried has its failure event.
      const expected = db.name === "sqlite" ? [7] : [1, 7];
      expect(lines.failures.map((event) => event.data?.qty).sort()).toEqual(expected);
      expect(lines.failures.every((event) => event.error?.code === "not_null_violation")).toBe(true);
      expect(await dataSource.manager.countBy(entities.Order, { number })).toBe(0);
    });

    it("softRemove and recover are updates of the delete-date column; softRemoveAs: 'delete' makes softRemove a delete", async () => {
      const first = await setup();
      const order = await first.dataSource.manager.save(first.dataSource.manager.create(first.entities.Order, { number: num(), qty: 1 }));
      await first.dataSource.manager.softRemove(order);
      await first.dataSource.manager.recover(order);
      const calls = await first.orders.settle(first.koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onUpdateOrder"]);
      expect(calls[1]!.event.changes).toEqual(["deletedAt"]);
      expect(calls[1]!.event.data?.deletedAt).toBeInstanceOf(Date);
      expect(calls[2]!.event.data?.deletedAt ?? null).toBeNull();

      const second = await setup({ softRemoveAs: "delete" });
      const other = await second.dataSource.manager.save(second.dataSource.manager.create(second.entities.Order, { number: num(), qty: 1 }));
      await second.dataSource.manager.softRemove(other);
      const deleted = await second.orders.settle(second.koper);
      expect(deleted.map((c) => c.handler)).toEqual(["onInsertOrder", "onDeleteOrder"]);
      expect(deleted[1]!.event.key).toEqual({ id: other.id });
    });

    it("insert() and QueryBuilder insert give row events; QB update/delete and softDelete give bulk events", async () => {
      const { koper, orders, dataSource, entities } = await setup();
      const repo = dataSource.getRepository(entities.Order);
      await repo.insert({ number: num(), qty: 1 });
      await repo.createQueryBuilder().insert().values([{ number: num(), qty: 4 }, { number: num(), qty: 6 }]).execute();
      await repo.createQueryBuilder().update().set({ qty: 5 }).where("qty > :min", { min: 3 }).execute();
      await repo.softDelete({ qty: MoreThan(4) });
      await repo.createQueryBuilder().delete().where("qty < :max", { max: 2 }).execute();
      const calls = await orders.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual([
        "onInsertOrder", "onInsertOrder", "onInsertOrder", "onBulkUpdateOrder", "onBulkUpdateOrder", "onBulkDeleteOrder",
      ]);
      expect(calls.slice(0, 3).every((c) => typeof c.event.key?.id === "number")).toBe(true);
      const [update, soft, del] = calls.slice(3).map((c) => c.event);
      expect(update!.bulk).toMatchObject({ set: { qty: 5 }, affected: 2 });
      expect(JSON.stringify(update!.bulk!.criteria)).toContain("qty");
      expect(soft!.changes).toEqual(["deletedAt"]);
      expect(soft!.bulk?.affected).toBe(2);
      expect(del!.bulk?.affected).toBe(1);
    });

    it("increment and restore are bulk updates; SQL expressions in SET are described, not run", async () => {
      const { koper, orders, dataSource, entities } = await setup();
      const repo = dataSource.getRepository(entities.Order);
      const order = await repo.save({ number: num(), qty: 1 });
      await repo.increment({ id: order.id }, "qty", 2);
      await repo.softDelete({ id: order.id });
      await repo.restore({ id: order.id });
      const calls = await orders.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onBulkUpdateOrder", "onBulkUpdateOrder", "onBulkUpdateOrder"]);
      expect(calls[1]!.event.bulk).toMatchObject({ set: { qty: { sql: expect.stringContaining("+ 2") } }, affected: 1 });
      expect(calls[3]!.event.changes).toEqual(["deletedAt"]);
      expect((await repo.findOneByOrFail({ id: order.id })).qty).toBe(3);
    });

    it("upsert is a bulk insert: the row may have been updated instead", async () => {
      const { koper, orders, dataSource, entities } = await setup();
      const number = num();
      await dataSource.manager.upsert(entities.Order, { number, qty: 1 }, ["number"]);
      await dataSource.manager.upsert(entities.Order, { number, qty: 2 }, ["number"]);
      const calls = await orders.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onBulkInsertOrder", "onBulkInsertOrder"]);
      expect(calls[1]!.event.bulk).toMatchObject({ set: { number, qty: 2 } });
      // The conflict target's values name the row; MySQL/MariaDB's ON DUPLICATE KEY names no target.
      expect(calls[1]!.event.bulk!.criteria).toEqual(db.name === "mariadb" ? null : { kind: "where", where: { number } });
      expect((await dataSource.manager.findOneByOrFail(entities.Order, { number })).qty).toBe(2);
    });

    it("a failed criteria update reaches onBulkUpdateOrder_X", async () => {
      const { koper, orders, dataSource, entities } = await setup();
      const [a, b] = [num(), num()];
      await dataSource.manager.insert(entities.Order, [{ number: a, qty: 1 }, { number: b, qty: 2 }]);
      await expect(dataSource.manager.update(entities.Order, { number: b }, { number: a })).rejects.toBeInstanceOf(QueryFailedError);
      const calls = await orders.settle(koper);
      const failed = calls.filter((c) => c.handler === "onBulkUpdateOrder_X");
      expect(failed).toHaveLength(1);
      expect(failed[0]!.event.error?.code).toBe("unique_violation");
      expect(failed[0]!.event.bulk?.set).toEqual({ number: a });
    });
  });
}
