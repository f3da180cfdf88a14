import { ensureOutboxTable } from "@koper/core";
import { sqlClientOf, type KoperTypeormOptions } from "@koper/typeorm";
import { describe, expect, it } from "vitest";
import { suffix, type Database } from "./databases.ts";
import { num, useSetup } from "./setup.ts";

/** What each TypeORM write call publishes, where the ORM-independent contract does not cover it. */
export function runTypeormWrites(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`typeorm writes: ${db.name}`, () => {
    const { setup } = useSetup(db);
    const { MoreThan, QueryFailedError } = db.orm;

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

    it("an autocommit update sends no transaction in direct mode; with an outbox, one around the update and its outbox row", async () => {
      const statements = async (options: KoperTypeormOptions) => {
        const { dataSource, entities } = await setup(options);
        const table = options.outbox ? (options.outbox as { table: string }).table : undefined;
        if (table) await ensureOutboxTable(sqlClientOf(dataSource), { table });
        try {
          const repo = dataSource.getRepository(entities.Order);
          const order = await repo.save({ number: num(), qty: 1 });
          const seen: string[] = [];
          (dataSource.subscribers as unknown[]).push({ afterQuery: (event: { query: string }) => void seen.push(event.query.trim()) });
          await repo.update({ id: order.id }, { qty: 2 });
          await dataSource.createQueryBuilder().update(entities.Order).set({ qty: 3 }).where({ id: order.id }).execute();
          return seen.map((sql) => (/^(BEGIN|START TRANSACTION)/i.test(sql) ? "BEGIN" : /^COMMIT/i.test(sql) ? "COMMIT" : /^UPDATE/i.test(sql) ? "UPDATE" : table && sql.includes(table) ? "OUTBOX" : sql));
        } finally {
          if (table) await dataSource.query(`DROP TABLE ${table}`).then(() => dataSource.query(`DROP TABLE ${table}_lease`));
        }
      };
      expect(await statements({})).toEqual(["UPDATE", "UPDATE"]);
      const table = `koper_outbox_${suffix()}`;
      expect(await statements({ outbox: { table, relay: false } })).toEqual(["BEGIN", "UPDATE", "OUTBOX", "COMMIT", "BEGIN", "UPDATE", "OUTBOX", "COMMIT"]);
    });

  });
}
