import { randomUUID } from "node:crypto";
import { ensureOutboxTable } from "@koper/core";
import { sqlClientOf } from "@koper/mikro-orm";
import type { SqlEntityManager } from "@mikro-orm/sql";
import { describe, expect, it } from "vitest";
import { suffix, type Database } from "./databases.ts";
import { num, useSetup } from "./setup.ts";

/** What each MikroORM write call publishes, where the ORM-independent contract does not cover it. */
export function runMikroWrites(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`mikro-orm writes: ${db.name}`, () => {
    const setup = useSetup(db);

    it("one entity flushed three times in one transaction: insert then two updates, in order, each with its own before", async () => {
      const { koper, listener, orm, entities } = await setup();
      await orm.em.fork().transactional(async (em) => {
        const order = em.create(entities.Order, { number: num(), qty: 1 } as never);
        await em.flush();
        order.qty = 2;
        await em.flush();
        order.qty = 3;
        await em.flush();
      });
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onUpdateOrder"]);
      expect(calls.map((c) => [c.event.before?.qty, c.event.data?.qty])).toEqual([[undefined, 1], [1, 2], [2, 3]]);
      expect(new Set(calls.map((c) => c.event.transaction.id)).size).toBe(1);
      expect(calls.map((c) => c.event.transaction.position)).toEqual([0, 1, 2]);
    });

    it("the identity map across flushes (no transaction): each flush's update names only what it changed", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork();
      const order = em.create(entities.Order, { number: num(), qty: 1 } as never);
      await em.flush();
      order.qty = 5;
      await em.flush();
      order.note = "gift";
      await em.flush();
      await em.flush(); // nothing changed: no event
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onUpdateOrder"]);
      expect(calls[1]!.event.changes).toContain("qty");
      expect(calls[1]!.event.changes).not.toContain("note");
      expect(calls[2]!.event.changes).toContain("note");
      expect(calls[2]!.event.before).toMatchObject({ qty: 5 });
      expect(calls[2]!.event.before?.note ?? null).toBeNull();
      expect(new Set(calls.map((c) => c.event.transaction.id)).size).toBe(3);
    });

    it("cascade remove: one delete event per row, in one transaction", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork();
      const order = em.create(entities.Order, { number: num(), qty: 1 } as never);
      for (const sku of ["A", "B"]) order.lines.add(em.create(entities.OrderLine, { sku, qty: 1, order } as never));
      await em.flush();
      em.remove(order);
      await em.flush();
      const calls = (await listener.settle(koper)).filter((c) => c.event.action === "delete");
      expect(calls.map((c) => c.handler).sort()).toEqual(["onDeleteOrder", "onDeleteOrderLine", "onDeleteOrderLine"]);
      expect(calls.find((c) => c.handler === "onDeleteOrder")!.event.before).toMatchObject({ id: order.id, qty: 1 });
      expect(new Set(calls.map((c) => c.event.transaction.id)).size).toBe(1);
    });

    it("embeddables and JSON properties arrive as values by property name; an auto-updated column is a change", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork();
      const order = em.create(entities.Order, { number: num(), qty: 1, address: { city: "Lyon", zip: "69001" }, meta: { gift: true, tags: ["a"] } } as never);
      await em.flush();
      order.address!.city = "Paris";
      order.meta = { gift: false, tags: ["a", "b"] };
      await em.flush();
      const [insert, update] = await listener.settle(koper);
      expect(insert!.event.data).toMatchObject({ address: { city: "Lyon", zip: "69001" }, meta: { gift: true, tags: ["a"] } });
      expect(insert!.event.data).not.toHaveProperty("address_city");
      expect(update!.event.data).toMatchObject({ address: { city: "Paris", zip: "69001" }, meta: { gift: false, tags: ["a", "b"] } });
      expect(update!.event.before).toMatchObject({ address: { city: "Lyon", zip: "69001" }, meta: { gift: true, tags: ["a"] } });
      expect(update!.event.changes).toEqual(expect.arrayContaining(["address.city", "meta", "updatedAt"]));
      expect(update!.event.data?.updatedAt).toBeTruthy();
    });

    it("many-to-many: an update event of the owning side whose data and before hold the keys after and before", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork();
      const [t1, t2] = [randomUUID(), randomUUID()].map((id, i) => em.create(entities.Tag, { id, name: `t${i}` }));
      const order = em.create(entities.Order, { number: num(), qty: 1 } as never);
      order.tags.add(t1!);
      await em.flush();
      order.tags.add(t2!);
      order.tags.remove(t1!);
      await em.flush();
      const calls = await listener.settle(koper);
      expect(calls.map((c) => [c.handler, c.event.changes])).toEqual([["onInsertOrder", undefined], ["onUpdateOrder", ["tags"]], ["onUpdateOrder", ["tags"]]]);
      expect(calls[1]!.event).toMatchObject({ key: { id: order.id }, data: { tags: [t1!.id] }, before: { tags: [] } });
      expect(calls[2]!.event).toMatchObject({ data: { tags: [t2!.id] }, before: { tags: [t1!.id] } });
      expect(calls[1]!.event.transaction.id).toBe(calls[0]!.event.transaction.id);
    });

    it("em.insert and insertMany give row events with the returned keys; nativeUpdate/nativeDelete give bulk events with the where object", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork();
      const id = await em.insert(entities.Order, { number: num(), qty: 1 } as never);
      const ids = await em.insertMany(entities.Order, [{ number: num(), qty: 2 }, { number: num(), qty: 3 }] as never);
      // em.insertMany returns only the first key; the events have each row's, as the database gave them.
      for (const call of (await listener.waitFor(3)).slice(0, 3)) {
        expect((await orm.em.fork().findOneOrFail(entities.Order, { id: call.event.key!.id as number })).qty).toBe(call.event.data?.qty);
      }
      const updated = await em.nativeUpdate(entities.Order, { $or: [{ qty: 1 }, { qty: { $gte: 3 } }] }, { note: "x" });
      const deleted = await em.nativeDelete(entities.Order, { qty: { $gt: 1 } });
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onInsertOrder", "onInsertOrder", "onBulkUpdateOrder", "onBulkDeleteOrder"]);
      expect(calls[0]!.event.key).toEqual({ id });
      expect(ids[0]).toBe(calls[1]!.event.key?.id);
      expect(new Set(calls.slice(0, 3).map((c) => c.event.key?.id)).size).toBe(3);
      expect(calls[1]!.event.data).toMatchObject({ qty: 2 });
      expect(calls[3]!.event.bulk).toEqual({ criteria: { kind: "where", where: { $or: [{ qty: 1 }, { qty: { $gte: 3 } }] } }, set: { note: "x" }, affected: updated });
      expect(calls[3]!.event.changes).toEqual(["note"]);
      expect(calls[4]!.event.bulk).toMatchObject({ criteria: { kind: "where", where: { qty: { $gt: 1 } } }, affected: deleted });
      expect([updated, deleted]).toEqual([2, 2]);
    });

    it("QueryBuilder writes are bulk events: SQL criteria with the WHERE's parameters only, SET values by property", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork() as unknown as SqlEntityManager;
      await em.createQueryBuilder(entities.Order).insert({ number: num(), qty: 4 }).execute();
      await em.createQueryBuilder(entities.Order).update({ note: "qb" }).where({ qty: { $gte: 4 } }).execute();
      await em.qb(entities.Order).delete().where({ qty: 4 }).execute();
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onBulkInsertOrder", "onBulkUpdateOrder", "onBulkDeleteOrder"]);
      expect(calls[0]!.event.bulk).toMatchObject({ criteria: null, set: { qty: 4 }, affected: 1 });
      const update = calls[1]!.event.bulk!;
      expect(update).toMatchObject({ set: { note: "qb" }, affected: 1 });
      expect(update.criteria).toMatchObject({ kind: "sql", parameters: [4] });
      expect((update.criteria as { sql: string }).sql).toMatch(/qty/);
      expect(calls[2]!.event.bulk).toMatchObject({ criteria: { kind: "sql", parameters: [4] }, affected: 1 });
    });

    it("failed native and QueryBuilder writes reach _X handlers with normalized codes; the app gets MikroORM's exception", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork() as unknown as SqlEntityManager;
      const [a, b] = [num(), num()];
      await em.insertMany(entities.Order, [{ number: a, qty: 1 }, { number: b, qty: 1 }] as never);
      const inserted = await em.insert(entities.Order, { number: a, qty: 2 } as never).then(() => undefined, (e: unknown) => e);
      expect((inserted as Error).constructor.name).toBe("UniqueConstraintViolationException");
      await expect(em.createQueryBuilder(entities.Order).update({ number: a }).where({ number: b }).execute()).rejects.toBeInstanceOf(Error);
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onInsertOrder", "onInsertOrder_X", "onBulkUpdateOrder_X"]);
      expect(calls[2]!.event).toMatchObject({ outcome: "failed", data: { number: a, qty: 2 }, error: { code: "unique_violation" } });
      expect(calls[3]!.event).toMatchObject({ outcome: "failed", bulk: { set: { number: a }, affected: null }, error: { code: "unique_violation" } });
    });

    it("MikroORM's validation before SQL is a failure event (validation_error) whose message carries no redacted value", async () => {
      const { koper, listener, orm, entities } = await setup({}, { koper: { redact: { Customer: ["passwordHash"] } } });
      const em = orm.em.fork();
      em.create(entities.Customer, { passwordHash: "hash-s3cr3t-value" } as never);
      const error = await em.flush().then(() => undefined, (e: unknown) => e as Error);
      expect(error?.name).toBe("ValidationError");
      expect(error!.message).toContain("hash-s3cr3t-value"); // MikroORM prints the entity
      const [call] = await listener.settle(koper);
      expect(call!.handler).toBe("onInsertCustomer_X");
      expect(call!.event.error).toMatchObject({ code: "validation_error", name: "ValidationError" });
      expect(call!.event.error!.message).toMatch(/Customer\.email is required/);
      expect(JSON.stringify(call!.event)).not.toContain("s3cr3t");
    });

    it("em.upsert: MariaDB says whether it inserted or updated (row events); elsewhere a bulk insert naming the conflict target", async () => {
      const { koper, listener, orm, entities } = await setup();
      const number = num();
      const first = await orm.em.fork().upsert(entities.Order, { number, qty: 1 } as never, { onConflictFields: ["number"] } as never);
      await orm.em.fork().upsert(entities.Order, { number, qty: 2 } as never, { onConflictFields: ["number"] } as never);
      const calls = await listener.settle(koper);
      if (db.name === "mariadb") {
        expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onUpdateOrder"]);
        expect(calls[1]!.event).toMatchObject({ key: { id: (first as { id: number }).id }, data: { number, qty: 2 } });
        expect(calls[1]!.event.changes).toEqual(expect.arrayContaining(["number", "qty"]));
      } else {
        expect(calls.map((c) => c.handler)).toEqual(["onBulkInsertOrder", "onBulkInsertOrder"]);
        expect(calls[1]!.event.bulk).toMatchObject({ criteria: { kind: "where", where: { number } }, set: { number, qty: 2 } });
        expect(calls[1]!.event.key).toEqual({ id: (first as { id: number }).id });
      }
    });

    it("em.clone (INSERT … SELECT) is a row insert of the copy, with its new key and the overrides", async () => {
      const { koper, listener, orm, entities } = await setup();
      const em = orm.em.fork();
      const original = em.create(entities.Order, { number: num(), qty: 3, note: "original" } as never);
      await em.flush();
      const copy = await em.clone(original, { number: num() } as never);
      const calls = await listener.settle(koper);
      expect(calls.map((c) => c.handler)).toEqual(["onInsertOrder", "onInsertOrder"]);
      expect(calls[1]!.event).toMatchObject({ key: { id: (copy as { id: number }).id }, data: { qty: 3, note: "original", number: (copy as { number: string }).number } });
      expect(calls[1]!.event.key).not.toEqual(calls[0]!.event.key);
    });

    it("native writes outside a transaction: none in direct mode; with an outbox, one each around the write and its row, flushing nothing else", async () => {
      const statements = async (table?: string) => {
        const lines: string[] = [];
        const logging = () => ({ debug: ["query"], colors: false, logger: (line: string) => void lines.push(line) }) as never;
        const { orm, entities } = await setup(table ? { outbox: { table, relay: false } } : {}, { orm: logging });
        if (table) await ensureOutboxTable(sqlClientOf(orm.em), { table });
        try {
          const em = orm.em.fork();
          const unflushed = num();
          em.create(entities.Order, { number: unflushed, qty: 9 } as never); // persisted, never flushed
          lines.length = 0;
          await em.nativeUpdate(entities.Order, { qty: 100 }, { note: "native" });
          await em.insert(entities.Order, { number: num(), qty: 1 } as never);
          await (em as unknown as SqlEntityManager).createQueryBuilder(entities.Order).update({ note: "builder" } as never).where({ qty: 100 }).execute();
          const sent = lines.map((line) => line.replace(/^\[query\]\s*/, "").trim()).map((sql) =>
            /^(begin|start transaction)/i.test(sql) ? "BEGIN" : /^commit/i.test(sql) ? "COMMIT" : table && sql.includes(table) ? "OUTBOX" : (sql.split(/\s/)[0] ?? "").toUpperCase(),
          );
          expect(await orm.em.fork().findOne(entities.Order, { number: unflushed })).toBeNull();
          return sent;
        } finally {
          if (table) for (const name of [table, `${table}_lease`]) await sqlClientOf(orm.em).query(`DROP TABLE ${name}`);
        }
      };
      expect(await statements()).toEqual(["UPDATE", "INSERT", "UPDATE"]);
      expect(await statements(`koper_outbox_${suffix()}`)).toEqual(["BEGIN", "UPDATE", "OUTBOX", "COMMIT", "BEGIN", "INSERT", "OUTBOX", "COMMIT", "BEGIN", "UPDATE", "OUTBOX", "COMMIT"]);
    });
  });
}
