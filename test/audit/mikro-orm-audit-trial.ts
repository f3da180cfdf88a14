import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectPagingSeesEveryRowOnce } from "./paging-while-writing.ts";
import { EntitySchema, type MikroORM } from "@mikro-orm/core";
import { ensureAuditTable, FORGOTTEN, Koper } from "@koper/core";
import { koperMikroOrm, sqlClientOf } from "@koper/mikro-orm";
import { database, openOrm, suffix, type Database, type TestOrm } from "../mikro-orm/databases.ts";

const pause = () => new Promise((resolve) => setTimeout(resolve, 3));

function defineEntities(id: string, db: Database["name"]) {
  class Parcel {
    tenant!: string;
    no!: number;
    label?: string | null;
    meta?: unknown;
    shippedAt?: Date | null;
    weight?: bigint | null;
    photo?: Buffer | null;
    email!: string;
    secret?: string | null;
    ownerId?: string | null;
  }
  class Select {
    id!: string;
    name!: string;
    email?: string | null;
  }
  const ParcelSchema = new EntitySchema({
    class: Parcel,
    tableName: `parcel_${id}`,
    properties: {
      tenant: { type: "string", length: 100, primary: true },
      no: { type: "integer", primary: true },
      label: { type: "text", nullable: true, ...(db === "mariadb" ? { columnType: "longtext" } : {}) },
      meta: { type: "json", nullable: true },
      shippedAt: { type: "datetime", nullable: true, length: 3 },
      weight: { type: "bigint", nullable: true },
      photo: { type: "blob", nullable: true },
      email: { type: "string", length: 120, unique: true },
      secret: { type: "string", length: 120, nullable: true, unique: true },
      ownerId: { type: "string", length: 36, nullable: true },
    },
  });
  const SelectSchema = new EntitySchema({
    class: Select,
    tableName: `select_${id}`,
    properties: {
      id: { type: "uuid", primary: true },
      name: { type: "string", length: 120 },
      email: { type: "string", length: 120, nullable: true, unique: true },
    },
  });
  return { Parcel, Select, schemas: [ParcelSchema, SelectSchema] };
}

/** The audit trail through MikroORM on `name`: values as they were, keys of every shape, forget, redaction. */
export async function runMikroOrmAuditTrial(name: Database["name"]): Promise<void> {
  const db = await database(name);
  describe.skipIf(db.skip !== undefined)(`audit trail through MikroORM on ${name}`, () => {
    let test: TestOrm;
    let orm: MikroORM;
    let koper: Koper;
    let entities: ReturnType<typeof defineEntities>;
    let table: string;
    let auditSchema: string | undefined;

    beforeEach(async () => {
      const id = suffix();
      entities = defineEntities(id, name);
      test = await openOrm(db, { entities: entities.schemas } as never);
      orm = test.orm;
      // A schema-qualified audit table: its own schema on PostgreSQL, the ORM's database named on MariaDB.
      auditSchema = name === "postgres" ? `audit_${id}` : undefined;
      const dbName = name === "mariadb" ? orm.config.get("dbName") : undefined;
      table = auditSchema ? `${auditSchema}.koper_audit` : dbName ? `${dbName}.koper_audit` : "koper_audit";
      if (auditSchema) await orm.em.getConnection().execute(`CREATE SCHEMA ${auditSchema}`);
      await ensureAuditTable(sqlClientOf(orm.em), { table });
      koper = new Koper({ redact: { Parcel: { secret: "remove" } } });
      koperMikroOrm(orm, koper, { audit: { table, references: { Select: [{ entity: "Parcel", by: "ownerId", fields: ["email", "label"] }] } } });
      await koper.start();
    });

    afterEach(async () => {
      await koper.stop();
      if (auditSchema) await orm.em.getConnection().execute(`DROP SCHEMA ${auditSchema} CASCADE`);
      await test.drop();
    });

    const dump = async () =>
      JSON.stringify(await sqlClientOf(orm.em).query(`SELECT * FROM ${table}`), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));

    it("history and stateAt on a composite key with unicode, ':' '/' '\"', 100 KB text, JSON, Date, bigint and bytes keep each value as it was", async () => {
      const tenant = 'Zürich:/"東京" 😀';
      const big = "y".repeat(100 * 1024);
      const shippedAt = new Date("2026-03-01T10:20:30.456Z");
      const meta = { tags: ["a", "b"], nested: { n: 1.5, ok: true, none: null } };
      const photo = Buffer.from([0, 1, 2, 250, 255]);
      const em = orm.em.fork();
      em.create(entities.Parcel, { tenant, no: 7, label: big, meta, shippedAt, weight: 1234567890123n, photo, email: "parcel@trial.example", secret: "s3cr3t-value", ownerId: null });
      await koper.runWith({ actor: "alice" }, () => em.flush());
      await pause();
      const loaded = await em.findOneOrFail(entities.Parcel, { tenant, no: 7 });
      loaded.label = "short";
      await koper.runWith({ actor: "bob" }, () => em.flush());
      await koper.settle();

      const history = await koper.audit.history("Parcel", { no: 7, tenant });
      expect(history.map((v) => [v.action, v.actor])).toEqual([["insert", "alice"], ["update", "bob"]]);
      const first = await koper.audit.stateAt("Parcel", { tenant, no: 7 }, { version: history[0]!.eventId });
      expect(first).toMatchObject({ tenant, no: 7, label: big, meta, shippedAt, email: "parcel@trial.example" });
      expect(first!.shippedAt).toBeInstanceOf(Date);
      expect(Buffer.from(first!.photo as Uint8Array)).toEqual(photo);
      expect(first!.photo).toBeInstanceOf(Uint8Array);
      expect(["1234567890123", 1234567890123n]).toContainEqual(first!.weight); // MikroORM's bigint type: a string unless mapped to bigint
      expect(first).not.toHaveProperty("secret");
      expect(history[1]!.diff).toEqual([{ field: "label", from: big, to: "short" }]);
      expect(await koper.audit.stateAt("Parcel", { tenant, no: 7 }, Date.now() + 1000)).toEqual({ ...first, label: "short" });
      expect(await dump()).not.toContain("s3cr3t-value");
    });

    it("a unique violation on a redacted column and a bulk write by it: failed attempt kept, the redacted values nowhere in the table", async () => {
      const em = orm.em.fork();
      em.create(entities.Parcel, { tenant: "t", no: 1, email: "one@trial.example", secret: "same-secret-value-1" });
      await em.flush();
      const again = orm.em.fork();
      again.create(entities.Parcel, { tenant: "t", no: 2, email: "two@trial.example", secret: "same-secret-value-1" });
      await koper.runWith({ actor: "mallory" }, () => expect(again.flush()).rejects.toBeDefined());
      await orm.em.fork().nativeUpdate(entities.Parcel, { secret: "same-secret-value-1" }, { secret: "rotated-secret-value-2", label: "rotated" });
      await koper.settle();
      const history = await koper.audit.history("Parcel", { tenant: "t", no: 2 });
      expect(history.map((v) => [v.action, v.outcome, v.actor, v.error?.code])).toEqual([["insert", "failed", "mallory", "unique_violation"]]);
      const [bulk] = (await koper.audit.changes({ entity: "Parcel", action: "update" })).entries;
      expect(bulk!.bulk?.set).toEqual({ label: "rotated" });
      const text = await dump();
      for (const secret of ["same-secret-value", "rotated-secret-value"]) expect(text).not.toContain(secret);
    });

    it.skipIf(name === "sqlite")("changes() pages every row exactly once, filters combined, while other connections keep writing", async () => {
      await expectPagingSeesEveryRowOnce(koper, (id, hold) =>
        orm.em.fork().transactional(async (em) => {
          em.create(entities.Select, { id, name: `w-${id.slice(0, 8)}` });
          await em.flush();
          await hold(); // commits out of seq order
        }));
    });

    it("forget erases a subject's values everywhere in the table, also from referencing rows; history and stateAt still work", async () => {
      const id = randomUUID();
      const email = "forget.me@trial.example";
      const em = orm.em.fork();
      em.create(entities.Select, { id, name: "Forgettable Name", email });
      await koper.runWith({ actor: "alice" }, () => em.flush());
      await pause();
      await orm.em.fork().nativeUpdate(entities.Select, { email }, { name: "Forgettable Renamed" });
      const em2 = orm.em.fork();
      em2.create(entities.Parcel, { tenant: "f", no: 1, label: "Forgettable Label", weight: 123456789n, email: "parcel.of.forgettable@trial.example", ownerId: id });
      em2.create(entities.Select, { id: randomUUID(), name: "Someone Else", email: "someone@trial.example" });
      await em2.flush();
      await orm.em.fork().nativeUpdate(entities.Parcel, { tenant: "f", no: 1 }, { label: "Forgettable Label Two" });
      const dup = orm.em.fork();
      dup.create(entities.Select, { id: randomUUID(), name: "Impostor", email });
      await expect(dup.flush()).rejects.toBeDefined();
      await koper.settle();
      expect(await dump()).toContain(email);
      const result = await koper.runWith({ actor: "dpo" }, () => koper.audit.forget("Select", id));
      expect(result).toEqual({ rows: 1, references: 1, fields: ["email", "name"] });
      const text = await dump();
      for (const secret of [email, "Forgettable", "parcel.of.forgettable"]) expect(text).not.toContain(secret);
      expect(text).toContain("someone@trial.example");
      expect(text).toContain("Impostor"); // another row's failed attempt keeps its own values, loses the subject's
      const history = await koper.audit.history("Select", id);
      expect(history.map((v) => [v.action, v.actor])).toEqual([["insert", "alice"], ["forget", "dpo"]]);
      expect(await koper.audit.stateAt("Select", id, Date.now() + 1000)).toEqual({ id, name: FORGOTTEN, email: FORGOTTEN });
      const [ref] = await koper.audit.history("Parcel", { tenant: "f", no: 1 });
      expect(ref!.after).toMatchObject({ tenant: "f", no: 1, ownerId: id, email: FORGOTTEN, label: FORGOTTEN });
    });
  });
}
