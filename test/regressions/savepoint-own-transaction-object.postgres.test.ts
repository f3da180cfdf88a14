// MikroORM gives a nested `transactional` (a savepoint) a transaction object of its own, and fires
// a commit event for it at RELEASE SAVEPOINT on PostgreSQL. ChangeCapture keyed transactions by
// object identity only, so the savepoint's events were published at the release, before the outer
// transaction committed (and even when it then rolled back). Fixed by `capture.begin(sp, { parent })`.
import { Koper } from "@koper/core";
import { describe, expect, it } from "vitest";
import { Collector } from "../contract/collector.ts";
import { database, openOrm } from "../mikro-orm/databases.ts";
import { koperMikroOrm } from "@koper/mikro-orm";

const db = await database("postgres");

describe.skipIf(db.skip !== undefined)("regression: a savepoint's own transaction object (MikroORM on PostgreSQL)", () => {
  it("publishes nothing at RELEASE SAVEPOINT, and nothing at all when the outer transaction then rolls back", async () => {
    const koper = new Koper();
    const listener = new Collector();
    koper.register(listener);
    await koper.start();
    const { orm, entities, drop } = await openOrm(db);
    koperMikroOrm(orm, koper);
    try {
      const afterRelease: number[] = [];
      await orm.em.fork().transactional(async (em) => {
        await em.transactional(async (inner) => void inner.create(entities.Order, { number: "released", qty: 1 } as never));
        await new Promise((resolve) => setTimeout(resolve, 50)); // let a wrongly published event arrive
        afterRelease.push(listener.calls.length);
        throw new Error("roll the outer transaction back");
      }).catch(() => {});
      expect(afterRelease).toEqual([0]);
      expect(await orm.em.fork().count(entities.Order)).toBe(0);
      expect(await listener.settle(koper)).toEqual([]);
    } finally {
      await koper.stop();
      await drop();
    }
  });
});
