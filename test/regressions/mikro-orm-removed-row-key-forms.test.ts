// Regression: the delete event of an entity MikroORM never loaded (`em.remove(em.getReference(…))`)
// lost its `before` whenever the database handed the key back in another form than the app gave it:
// Koper matched the rows it read before the flush to the entities by `String(key)`. PostgreSQL's
// uuid type returns an uppercase app-set uuid in lowercase; MariaDB's case-insensitive collation
// finds "TAG-A" for a key "tag-a"; SQLite returns a date key as its timestamp; and `String()` of
// two date keys a millisecond apart, or of two binary keys, can be one text, so one entity lost
// its row to the other.
import { randomBytes, randomUUID } from "node:crypto";
import { dataListener, Koper, type DataEvent } from "@koper/core";
import { koperMikroOrm } from "@koper/mikro-orm";
import { EntitySchema, type EntityManager, type Options } from "@mikro-orm/core";
import { afterEach, describe, expect, it } from "vitest";
import { defineApp } from "../mikro-orm/app-entities.ts";
import { database, openOrm, type Database } from "../mikro-orm/databases.ts";

/** Keys an app sets that are no uuid: a bigint (a snowflake id), a timestamp, a binary token. */
function defineKeyed(db: Database) {
  class Payment {
    id!: bigint;
    amount!: number;
  }
  class Reading {
    takenAt!: Date;
    value!: number;
  }
  class Session {
    token!: Buffer;
    user!: string;
  }
  const binary = db.name === "mariadb" ? "varbinary(16)" : db.name === "postgres" ? "bytea" : "blob";
  const schemas = [
    new EntitySchema({ class: Payment, tableName: "app_payment", properties: { id: { type: "bigint", primary: true, autoincrement: false }, amount: { type: "integer" } } }),
    new EntitySchema({ class: Reading, tableName: "app_reading", properties: { takenAt: { type: "datetime", length: 3, primary: true }, value: { type: "integer" } } }),
    new EntitySchema({ class: Session, tableName: "app_session", properties: { token: { type: "blob", columnType: binary, primary: true }, user: { type: "string", length: 40 } } }),
  ];
  return { Payment, Reading, Session, schemas };
}

function useWorld(db: Database) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async () => {
    const deletes: DataEvent[] = [];
    const koper = new Koper();
    const onDelete = (_row: unknown, event: DataEvent) => void deletes.push(event);
    const entity = ["Author", "Tag", "Payment", "Reading", "Session"];
    koper.register(dataListener()({ entity, ...Object.fromEntries(entity.map((name) => [`onDelete${name}`, onDelete])) } as never));
    await koper.start();
    const app = defineApp();
    const keyed = defineKeyed(db);
    const reads: string[] = [];
    const logger = (line: string) => void (/\bselect\b/i.test(line) && reads.push(line));
    const { orm, drop } = await openOrm(db, { entities: [...app.schemas, ...keyed.schemas], debug: ["query"], colors: false, logger } as Partial<Options>);
    const handle = koperMikroOrm(orm, koper);
    cleanups.push(async () => {
      await koper.stop();
      handle.detach();
      await drop();
    });
    const em = (): EntityManager => orm.em.fork();
    const settle = async () => {
      await koper.stop();
      return deletes;
    };
    /** Flushes `rows` of `entity`, then removes references to `keys` from a fresh EntityManager: the SELECTs that ran. */
    const removeUnloaded = async (entity: object, rows: object[], keys: unknown[]) => {
      const e1 = em();
      for (const row of rows) e1.create(entity as never, row as never);
      await e1.flush();
      const e2 = em();
      for (const key of keys) e2.remove(e2.getReference(entity as never, key as never));
      reads.length = 0;
      await e2.flush();
      return reads.length;
    };
    return { app, ...keyed, removeUnloaded, settle };
  };
}

const author = (id: string) => ({ id, name: "Ada", email: `${randomUUID().slice(0, 8)}@example.com`, passwordHash: "h" });

for (const db of [await database("sqlite"), await database("postgres"), await database("mariadb")]) {
  describe.skipIf(db.skip !== undefined)(`regression: before of a removed never-loaded entity, its key in another form: ${db.name}`, () => {
    const world = useWorld(db);

    it("an app-set uuid key given in uppercase (PostgreSQL's uuid type returns it in lowercase)", async () => {
      const { app, removeUnloaded, settle } = await world();
      const [a, b] = [randomUUID().toUpperCase(), randomUUID().toUpperCase()];
      // One read: PostgreSQL's rows are paired by the uuid's text without case, with no read per key.
      expect(await removeUnloaded(app.Author, [author(a), author(b)], [a, b])).toBe(1);
      const deleted = await settle();
      expect(deleted.map((e) => e.key)).toEqual([{ id: a }, { id: b }]);
      for (const event of deleted) {
        expect(event.before).toMatchObject({ name: "Ada", status: "active", version: 1 });
        expect(String(event.before!.id).toUpperCase()).toBe(event.key!.id);
      }
    });

    it("a varchar key the database compares without case (MariaDB's default collation)", async () => {
      const { app, removeUnloaded, settle } = await world();
      const ids = [`TAG-${randomUUID().slice(0, 8).toUpperCase()}`, `TAG-${randomUUID().slice(0, 8).toUpperCase()}`];
      const reads = await removeUnloaded(app.Tag, ids.map((id) => ({ id, label: `label of ${id}` })), ids.map((id) => id.toLowerCase()));
      // MariaDB: two rows no key matches as text, so the database pairs them: one more read per key.
      expect(reads).toBe(db.name === "mariadb" ? 3 : 1);
      const deleted = await settle();
      expect(deleted.map((e) => e.key)).toEqual(ids.map((id) => ({ id: id.toLowerCase() })));
      // Case-sensitive elsewhere: the references name no row, and nothing was read for them.
      const before = db.name === "mariadb" ? ids.map((id) => ({ id, label: `label of ${id}` })) : ids.map((id) => ({ id: id.toLowerCase() }));
      expect(deleted.map((e) => e.before)).toEqual(before);
    });

    it("a bigint key (past Number.MAX_SAFE_INTEGER), given as a bigint and as a string", async () => {
      // node:sqlite cannot read an integer past 2^53 (MikroORM's own reads fail the same way): below it there.
      const [a, b] = db.name === "sqlite" ? [2n ** 52n + 1n, 2n ** 52n + 3n] : [2n ** 53n + 1n, 2n ** 53n + 3n];
      const { Payment, removeUnloaded, settle } = await world();
      await removeUnloaded(Payment, [{ id: a, amount: 1 }, { id: b, amount: 2 }], [a, String(b)]);
      const deleted = await settle();
      expect(deleted.map((e) => e.before?.amount)).toEqual([1, 2]);
    });

    it("date keys a millisecond apart", async () => {
      const { Reading, removeUnloaded, settle } = await world();
      const [a, b] = [new Date("2026-03-01T10:00:00.123Z"), new Date("2026-03-01T10:00:00.124Z")];
      await removeUnloaded(Reading, [{ takenAt: a, value: 1 }, { takenAt: b, value: 2 }], [a, b]);
      const deleted = await settle();
      expect(deleted.map((e) => e.before?.value)).toEqual([1, 2]);
    });

    it("binary keys (node:sqlite reads them back as a Uint8Array, not the Buffer given)", async () => {
      const { Session, removeUnloaded, settle } = await world();
      const [a, b] = [randomBytes(16), randomBytes(16)];
      await removeUnloaded(Session, [{ token: a, user: "ada" }, { token: b, user: "grace" }], [a, b]);
      const deleted = await settle();
      expect(deleted.map((e) => e.before?.user)).toEqual(["ada", "grace"]);
    });
  });
}
