import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectPagingSeesEveryRowOnce } from "./paging-while-writing.ts";
import { ensureAuditTable, FORGOTTEN, Koper, MASK } from "@koper/core";
import { koperTypeorm, sqlClientOf } from "@koper/typeorm";
import type { ColumnType, DataSource } from "typeorm";
import { database, suffix, type Database } from "../typeorm/databases.ts";

const pause = () => new Promise((resolve) => setTimeout(resolve, 3));

/** Column types per database for the values the audit must keep as they were. */
function types(db: Database["name"]) {
  return {
    text: (db === "mariadb" ? "longtext" : "text") as ColumnType,
    json: (db === "sqlite" ? "simple-json" : "json") as ColumnType,
    date: (db === "postgres" ? "timestamptz" : db === "mariadb" ? "datetime" : "datetime") as ColumnType,
    blob: (db === "postgres" ? "bytea" : db === "mariadb" ? "longblob" : "blob") as ColumnType,
  };
}

function defineEntities(db: Database, id: string) {
  const { Column, Entity, PrimaryColumn } = db.orm;
  const t = types(db.name);
  // A composite key whose text part holds unicode and ':' '/' '"'; values JSON cannot carry as themselves.
  @Entity({ name: `parcel_${id}` })
  class Parcel {
    @PrimaryColumn({ type: "varchar", length: 100 }) tenant!: string;
    @PrimaryColumn({ type: "integer" }) no!: number;
    @Column({ type: t.text, nullable: true }) label!: string | null;
    @Column({ type: t.json, nullable: true }) meta!: unknown;
    @Column({ type: t.date, nullable: true, ...(db.name === "mariadb" ? { precision: 3 } : {}) }) shippedAt!: Date | null;
    @Column({ type: "bigint", nullable: true }) weight!: string | null;
    @Column({ type: t.blob, nullable: true }) photo!: Buffer | null;
    @Column({ type: "varchar", length: 120, unique: true }) email!: string;
    @Column({ type: "varchar", length: 120, nullable: true, unique: true }) secret!: string | null;
    @Column({ type: "varchar", length: 36, nullable: true }) ownerId!: string | null;
  }
  // An entity named like an SQL keyword, with a uuid key.
  @Entity({ name: `select_${id}` })
  class Select {
    @PrimaryColumn({ type: "varchar", length: 36 }) id!: string;
    @Column({ type: "varchar", length: 120 }) name!: string;
    @Column({ type: "varchar", length: 120, nullable: true }) email!: string | null;
  }
  return { Parcel, Select, tables: [`parcel_${id}`, `select_${id}`] };
}

/** The audit trail through TypeORM on `name`: the values of a row as they were, keys of every shape, forget, redaction. */
export async function runTypeormAuditTrial(name: Database["name"]): Promise<void> {
  const db = await database(name);
  describe.skipIf(db.skip !== undefined)(`audit trail through TypeORM on ${name}`, () => {
    let dataSource: DataSource;
    let koper: Koper;
    let entities: ReturnType<typeof defineEntities>;
    let table: string;
    let schema: string | undefined;

    beforeEach(async () => {
      const id = suffix();
      entities = defineEntities(db, id);
      schema = name === "postgres" ? `audit_${id}` : undefined;
      table = schema ? `${schema}.koper_audit` : `koper_audit_${id}`;
      dataSource = new db.orm.DataSource({ ...db.options, entities: [entities.Parcel, entities.Select], synchronize: true, logging: false } as never);
      koper = new Koper({ redact: { Parcel: { secret: "remove" } } });
      koperTypeorm(dataSource, koper, {
        audit: { table, references: { Select: [{ entity: "Parcel", by: "ownerId", fields: ["email", "label"] }] } },
      });
      await dataSource.initialize();
      if (schema) await dataSource.query(`CREATE SCHEMA ${schema}`);
      await ensureAuditTable(sqlClientOf(dataSource), { table });
      await koper.start();
    });

    afterEach(async () => {
      await koper.stop();
      const runner = dataSource.createQueryRunner();
      for (const t of entities.tables) await runner.dropTable(t, true);
      await runner.release();
      await dataSource.query(schema ? `DROP SCHEMA ${schema} CASCADE` : `DROP TABLE ${table}`);
      await dataSource.destroy();
    });

    const dump = async () =>
      JSON.stringify(await dataSource.query(`SELECT * FROM ${table}`), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));

    it("history and stateAt on a composite key with unicode, ':' '/' '\"', 100 KB text, JSON, Date, bigint and bytes keep each value as it was", async () => {
      const repo = dataSource.getRepository(entities.Parcel);
      const tenant = 'Zürich:/"東京" 😀';
      const big = "x".repeat(100 * 1024);
      const shippedAt = new Date("2026-03-01T10:20:30.456Z");
      const meta = { tags: ["a", "b"], nested: { n: 1.5, ok: true, none: null } };
      const photo = Buffer.from([0, 1, 2, 250, 255]);
      await koper.runWith({ actor: "alice" }, () =>
        repo.save({ tenant, no: 7, label: big, meta, shippedAt, weight: "1234567890123", photo, email: "parcel@trial.example", secret: "s3cr3t-value", ownerId: null }),
      );
      await pause();
      const loaded = await repo.findOneByOrFail({ tenant, no: 7 });
      loaded.label = "short";
      await koper.runWith({ actor: "bob" }, () => repo.save(loaded));
      await koper.settle();

      const history = await koper.audit.history("Parcel", { no: 7, tenant });
      expect(history.map((v) => [v.action, v.actor])).toEqual([["insert", "alice"], ["update", "bob"]]);
      const first = await koper.audit.stateAt("Parcel", { tenant, no: 7 }, { version: history[0]!.eventId });
      expect(first).toEqual({ tenant, no: 7, label: big, meta, shippedAt, weight: "1234567890123", photo, email: "parcel@trial.example", ownerId: null });
      expect(first!.shippedAt).toBeInstanceOf(Date);
      expect(Buffer.isBuffer(first!.photo)).toBe(true);
      expect(history[1]!.diff).toEqual([{ field: "label", from: big, to: "short" }]);
      // The update's row is the one TypeORM loaded: sql.js reads a bigint as a number and a blob as a Uint8Array.
      const loadedTypes = name === "sqlite" ? { weight: 1234567890123, photo: new Uint8Array(photo) } : {};
      expect(await koper.audit.stateAt("Parcel", { tenant, no: 7 }, Date.now() + 1000)).toEqual({ ...first, label: "short", ...loadedTypes });
      const tx = await koper.audit.transaction(history[1]!.transaction.id);
      expect(tx.map((e) => e.eventId)).toEqual([history[1]!.eventId]);
      expect(await dump()).not.toContain("s3cr3t-value");
    });

    it("an entity named like an SQL keyword with a uuid key; changes() with entity, actor, action and time filters combined", async () => {
      const repo = dataSource.getRepository(entities.Select);
      const since = Date.now();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      await koper.runWith({ actor: "alice" }, () => repo.save({ id: ids[0]!, name: "one", email: null }));
      await koper.runWith({ actor: "bob" }, () => repo.save({ id: ids[1]!, name: "two", email: null }));
      await koper.runWith({ actor: "alice" }, () => repo.update({ id: ids[0]! }, { email: "x@y.example" }));
      await pause();
      const until = Date.now() + 1;
      await pause();
      await koper.runWith({ actor: "alice" }, () => repo.save({ id: ids[2]!, name: "three", email: null }));
      const page = await koper.audit.changes({ entity: "Select", actor: "alice", action: "insert", since, until });
      expect(page.entries.map((e) => e.key)).toEqual([{ id: ids[0] }]);
      // A write by criteria is a bulk entry (no key), not a version of the row.
      expect((await koper.audit.history("Select", ids[0]!)).map((v) => [v.action, v.after])).toEqual([["insert", { id: ids[0], name: "one", email: null }]]);
      const bulk = (await koper.audit.changes({ entity: "Select", action: "update" })).entries;
      expect(bulk.map((e) => [e.key, e.bulk])).toEqual([[null, { criteria: { kind: "where", where: { id: ids[0] } }, set: { email: "x@y.example" }, affected: 1 }]]);
      expect((await koper.audit.changes({ entity: "Select", actor: "bob" })).entries.map((e) => e.key)).toEqual([{ id: ids[1] }]);
      expect((await koper.audit.changes({ entity: "Select", since: until })).entries.map((e) => e.key)).toEqual([{ id: ids[2] }]);
    });

    it("a unique violation on a redacted column, a bulk write by it: failed attempt kept, the redacted values nowhere in the table", async () => {
      const repo = dataSource.getRepository(entities.Parcel);
      const row = { label: null, meta: null, shippedAt: null, weight: null, photo: null, ownerId: null };
      await repo.save({ tenant: "t", no: 1, ...row, email: "one@trial.example", secret: "same-secret-value-1" });
      await koper.runWith({ actor: "mallory" }, () =>
        expect(repo.save({ tenant: "t", no: 2, ...row, email: "two@trial.example", secret: "same-secret-value-1" })).rejects.toBeDefined(),
      );
      await repo.update({ secret: "same-secret-value-1" }, { secret: "rotated-secret-value-2", label: "rotated" });
      await koper.settle();
      const history = await koper.audit.history("Parcel", { tenant: "t", no: 2 });
      expect(history.map((v) => [v.action, v.outcome, v.actor, v.error?.code])).toEqual([["insert", "failed", "mallory", "unique_violation"]]);
      expect(history[0]!.state).toBeNull();
      expect(history[0]!.after).not.toHaveProperty("secret");
      const [bulk] = (await koper.audit.changes({ entity: "Parcel", action: "update" })).entries;
      expect(bulk!.bulk?.set).toEqual({ label: "rotated" });
      expect(bulk!.bulk?.affected).toBe(1);
      const text = await dump();
      for (const secret of ["same-secret-value", "rotated-secret-value"]) expect(text).not.toContain(secret);
    });

    it("a rolled-back transaction leaves no row; on PostgreSQL a poisoned one (a failed statement swallowed) neither", async () => {
      const repo = dataSource.getRepository(entities.Parcel);
      const row = { label: null, meta: null, shippedAt: null, weight: null, photo: null, ownerId: null, secret: null };
      await repo.save({ tenant: "r", no: 1, ...row, email: "taken@trial.example" });
      await expect(dataSource.transaction(async (m) => {
        await m.save(entities.Parcel, { tenant: "r", no: 2, ...row, email: "rolled-back@trial.example" });
        throw new Error("roll back");
      })).rejects.toThrow("roll back");
      await dataSource.transaction(async (m) => {
        await m.save(entities.Parcel, { tenant: "r", no: 3, ...row, email: "poisoned@trial.example" });
        await m.save(entities.Parcel, { tenant: "r", no: 4, ...row, email: "taken@trial.example" }).catch(() => undefined);
      }).catch(() => undefined);
      await koper.settle();
      const committed = (await repo.findOneBy({ tenant: "r", no: 3 })) !== null;
      expect(committed).toBe(name !== "postgres");
      const entries = (await koper.audit.changes({ entity: "Parcel" })).entries;
      expect(entries.map((e) => [e.key, e.outcome])).toEqual([
        [{ tenant: "r", no: 1 }, "committed"],
        ...(committed ? [[{ tenant: "r", no: 3 }, "committed"]] : []),
        [{ tenant: "r", no: 4 }, "failed"],
      ]);
      expect(await dump()).not.toContain("rolled-back@");
      if (!committed) expect(await dump()).not.toContain("poisoned@");
    });

    it.skipIf(name === "sqlite")("changes() pages every row exactly once while another connection keeps writing", async () => {
      await expectPagingSeesEveryRowOnce(koper, (id, hold) =>
        dataSource.transaction(async (m) => {
          await m.save(entities.Select, { id, name: `w-${id.slice(0, 8)}`, email: null });
          await hold(); // commits out of seq order
        }));
    });

    it("forget erases a subject's values everywhere in the table, also from referencing rows; history and stateAt still work", async () => {
      const parcels = dataSource.getRepository(entities.Parcel);
      const selects = dataSource.getRepository(entities.Select);
      const id = randomUUID();
      const email = "forget.me@trial.example";
      const parcel = { label: "Forgettable Label", meta: { home: "Main Street 12" }, shippedAt: null, weight: "123456789", photo: null, secret: null, ownerId: id };
      await koper.runWith({ actor: "alice" }, () => selects.save({ id, name: "Forgettable Name", email }));
      await pause();
      await selects.update({ email }, { name: "Forgettable Renamed" });
      await parcels.save({ tenant: "f", no: 1, ...parcel, email: "parcel.of.forgettable@trial.example" });
      await parcels.update({ tenant: "f", no: 1 }, { label: "Forgettable Label Two" });
      await selects.save({ id: randomUUID(), name: "Someone Else", email: "someone@trial.example" });
      await expect(selects.insert({ id, name: "again", email })).rejects.toBeDefined();
      await koper.settle();
      expect(await dump()).toContain(email);
      const result = await koper.runWith({ actor: "dpo" }, () => koper.audit.forget("Select", id));
      expect(result).toEqual({ rows: 2, references: 1, fields: ["email", "name"] });
      const text = await dump();
      for (const secret of [email, "Forgettable", "parcel.of.forgettable"]) expect(text).not.toContain(secret);
      expect(text).toContain("someone@trial.example");
      const history = await koper.audit.history("Select", id);
      expect(history.map((v) => [v.action, v.outcome, v.actor])).toEqual([["insert", "committed", "alice"], ["insert", "failed", undefined], ["forget", "committed", "dpo"]]);
      expect(history[2]!.after).toEqual({ fields: ["email", "name"], rows: 2, references: 1 });
      expect(await koper.audit.stateAt("Select", id, Date.now() + 1000)).toEqual({ id, name: FORGOTTEN, email: FORGOTTEN });
      expect(await koper.audit.stateAt("Select", id, { version: history[0]!.eventId })).toEqual({ id, name: FORGOTTEN, email: FORGOTTEN });
      const [ref] = await koper.audit.history("Parcel", { tenant: "f", no: 1 });
      expect(ref!.after).toMatchObject({ tenant: "f", no: 1, ownerId: id, email: FORGOTTEN, label: FORGOTTEN, weight: "123456789" });
    });
  });
}
