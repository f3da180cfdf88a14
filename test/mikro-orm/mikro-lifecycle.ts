import { Koper } from "@koper/core";
import { koperMikroOrm, koperMikroOrmSubscriber } from "@koper/mikro-orm";
import type { SqlEntityManager } from "@mikro-orm/sql";
import { describe, expect, it } from "vitest";
import type { Database } from "./databases.ts";
import { num, useSetup } from "./setup.ts";

/** MikroORM transactions, attachment forms and limits, beyond the contract. */
export function runMikroLifecycle(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`mikro-orm lifecycle: ${db.name}`, () => {
    const setup = useSetup(db);

    it("forked entity managers keep their own transactions: one commits, the other rolls back", async (ctx) => {
      if (db.name === "sqlite") ctx.skip(); // one connection: two open transactions would wait on each other
      const { koper, listener, orm, entities } = await setup();
      const [a, b] = [orm.em.fork(), orm.em.fork()];
      await a.begin();
      await b.begin();
      a.create(entities.Order, { number: num(), qty: 1 } as never);
      b.create(entities.Order, { number: num(), qty: 2 } as never);
      await a.flush();
      await b.flush();
      await b.commit();
      await a.rollback();
      expect((await listener.settle(koper)).map((c) => c.event.data?.qty)).toEqual([2]);
    });

    it("nested transactional (savepoints, sibling savepoints reusing the name) publish at the outer commit only", async () => {
      const { koper, listener, orm, entities } = await setup();
      const seen: number[] = [];
      await orm.em.fork().transactional(async (em) => {
        em.create(entities.Order, { number: num(), qty: 1 } as never);
        await em.flush();
        await em.transactional(async (inner) => void inner.create(entities.Order, { number: num(), qty: 2 } as never));
        seen.push(listener.calls.length);
        await em.transactional(async (inner) => void inner.create(entities.Order, { number: num(), qty: 3 } as never));
        await em.transactional(async (inner) => {
          inner.create(entities.Order, { number: num(), qty: 4 } as never);
          await inner.flush();
          throw new Error("undo this savepoint");
        }).catch(() => {});
        seen.push(listener.calls.length);
      });
      const calls = await listener.settle(koper);
      expect(seen).toEqual([0, 0]);
      expect(calls.map((c) => c.event.data?.qty)).toEqual([1, 2, 3]);
      expect(new Set(calls.map((c) => c.event.transaction.id)).size).toBe(1);
    });

    it("implicitTransactions: false: each flush's events publish at once, as autocommit writes", async () => {
      const { koper, listener, orm, entities } = await setup({}, { orm: () => ({ implicitTransactions: false }) });
      const em = orm.em.fork();
      const order = em.create(entities.Order, { number: num(), qty: 1 } as never);
      await em.flush();
      order.qty = 2;
      await em.flush();
      const calls = await listener.settle(koper);
      expect(calls.map((c) => [c.handler, c.event.transaction.position])).toEqual([["onInsertOrder", 0], ["onUpdateOrder", 0]]);
      expect(calls[0]!.event.transaction.id).not.toBe(calls[1]!.event.transaction.id);
    });

    it("implicitTransactions: false: a failed flush statement's failure event names its row and the row before (from its change set)", async () => {
      const { koper, listener, orm, entities } = await setup({}, { orm: () => ({ implicitTransactions: false }) });
      const em = orm.em.fork();
      const [taken, own] = [num(), num()];
      em.create(entities.Order, { number: taken, qty: 1 } as never);
      const order = em.create(entities.Order, { number: own, qty: 2 } as never) as { id: number; number: string };
      await em.flush();
      order.number = taken;
      await expect(em.flush()).rejects.toBeInstanceOf(Error);
      const failed = (await listener.settle(koper)).find((c) => c.handler === "onUpdateOrder_X");
      expect(failed?.event).toMatchObject({ action: "update", outcome: "failed", key: { id: order.id }, data: { number: taken } });
      expect(failed?.event.before).toMatchObject({ number: own, qty: 2 });
    });

    it("as a subscriber in MikroORM.init: flushes, native and QueryBuilder writes are captured; attaching again is refused", async () => {
      const { koper, listener, orm, entities } = await setup({}, { attach: false, orm: (k) => ({ subscribers: [koperMikroOrmSubscriber(k)] }) });
      const em = orm.em.fork() as unknown as SqlEntityManager;
      await em.nativeUpdate(entities.Order, { qty: 99 }, { note: "first call, before any hook" });
      em.create(entities.Order, { number: num(), qty: 1 } as never);
      await em.flush();
      await em.createQueryBuilder(entities.Order).update({ note: "qb" }).where({ qty: 1 }).execute();
      expect(() => koperMikroOrm(orm, new Koper())).toThrow(/already attached/);
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onBulkUpdateOrder", "onInsertOrder", "onBulkUpdateOrder"]);
      expect(calls.map((c) => c.event.bulk?.affected ?? null)).toEqual([0, null, 1]);
    });

    it("detach() stops publishing, and an unknown entity name is refused with the known ones", async () => {
      const { koper, listener, orm, entities, handle } = await setup();
      const em = orm.em.fork();
      em.create(entities.Order, { number: num(), qty: 1 } as never);
      await em.flush();
      handle!.detach();
      em.create(entities.Order, { number: num(), qty: 2 } as never);
      await em.flush();
      await em.nativeDelete(entities.Order, { qty: 2 });
      expect((await listener.settle(koper)).map((c) => c.event.data?.qty)).toEqual([1]);
      expect(() => koperMikroOrm(orm, new Koper(), { exclude: ["Ordre"] })).toThrow(/"Ordre".*Known entities: .*Order/);
    });

    it("documented limit: raw SQL (em.execute) publishes nothing", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork() as unknown as SqlEntityManager;
      const q = (name: string) => em.getPlatform().quoteIdentifier(name);
      const schema = orm.config.get("schema");
      const table = (schema ? `${q(schema)}.` : "") + q(orm.getMetadata().get(entities.Order).tableName);
      await em.execute(`insert into ${table} (number, qty) values ('${num()}', 1)`);
      expect(await orm.em.fork().count(entities.Order)).toBe(1);
      expect(await listener.settle(koper)).toEqual([]);
    });
  });
}
