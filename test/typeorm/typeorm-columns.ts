import "reflect-metadata";
import { DataListener, Koper, type DataEvent, type Row } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import type { DataSource, DataSourceOptions } from "typeorm";
import { afterEach, describe, expect, it } from "vitest";
import { suffix, type Database } from "./databases.ts";

/** Every handler call of `Account`, in order. */
@DataListener({ entity: "Account" })
class AccountCalls {
  readonly calls: { handler: string; event: DataEvent }[] = [];
  onInsertAccount(_row: Row, event: DataEvent) { this.calls.push({ handler: "onInsertAccount", event }); }
  onUpdateAccount(_row: Row, event: DataEvent) { this.calls.push({ handler: "onUpdateAccount", event }); }
  onDeleteAccount(_row: Row, event: DataEvent) { this.calls.push({ handler: "onDeleteAccount", event }); }
  onInsertAccount_X(_row: Row, event: DataEvent) { this.calls.push({ handler: "onInsertAccount_X", event }); }
  onUpdateAccount_X(_row: Row, event: DataEvent) { this.calls.push({ handler: "onUpdateAccount_X", event }); }
  onBulkUpdateAccount(event: DataEvent) { this.calls.push({ handler: "onBulkUpdateAccount", event }); }
}

/** Every update of `Badge`. */
@DataListener({ entity: "Badge" })
class BadgeCalls {
  readonly updates: DataEvent[] = [];
  onUpdateBadge(_row: Row, event: DataEvent) { this.updates.push(event); }
}

/**
 * A badge whose key has a transformer (the statement binds `k:x1`, the entity holds `x1`: its
 * UPDATE is not matched to the row by key), with a relation without an explicit foreign-key
 * property and an `update: false` column.
 */
function defineBadge(db: Database) {
  const { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } = db.orm;
  const s = suffix();
  @Entity({ name: `team_${s}` })
  class Team {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 40 }) name!: string;
  }
  const prefixed = { to: (v: string | undefined) => (v === undefined ? v : `k:${v}`), from: (v: string | null) => (v === null ? v : v.slice(2)) };
  @Entity({ name: `badge_${s}` })
  class Badge {
    @PrimaryColumn({ type: "varchar", length: 40, transformer: prefixed }) code!: string;
    @Column({ type: "varchar", length: 40 }) name!: string;
    @Column({ type: "varchar", length: 40, update: false }) issuedBy!: string;
    @ManyToOne(() => Team, { nullable: true }) @JoinColumn({ name: "teamId" }) team!: InstanceType<typeof Team> | null;
  }
  return { Team, Badge };
}

/**
 * An account whose columns TypeORM writes only sometimes: `createdBy` on insert only
 * (`update: false`), `status` and `tag` never on insert (`insert: false`; `status` has a TypeORM
 * default, `tag` none: only the database knows it), a `passwordHash` not selected by default.
 */
function defineAccount(db: Database) {
  const { Column, Entity, PrimaryGeneratedColumn } = db.orm;
  @Entity({ name: `account_${suffix()}` })
  class Account {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 60, unique: true }) name!: string;
    @Column({ type: "varchar", length: 60, update: false }) createdBy!: string;
    @Column({ type: "varchar", length: 120, select: false, nullable: true }) passwordHash!: string | null;
    @Column({ type: "varchar", length: 20, insert: false, default: "new" }) status!: string;
    @Column({ type: "varchar", length: 20, insert: false, nullable: true }) tag!: string | null;
    @Column({ type: "varchar", length: 60, nullable: true }) note!: string | null;
  }
  return Account;
}

/** How TypeORM's column options `insert: false`, `update: false` and `select: false` show in events: as the row holds them. */
export function runTypeormColumns(db: Database): void {
  describe.skipIf(db.skip !== undefined)(`typeorm column options: ${db.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    const setup = async () => {
      const Account = defineAccount(db);
      const dataSource: DataSource = new db.orm.DataSource({ ...db.options, entities: [Account], synchronize: true, logging: false } as DataSourceOptions);
      await dataSource.initialize();
      const table = dataSource.getMetadata(Account).tableName;
      // A default only the database knows (TypeORM's metadata has none): SQLite cannot add one to a column.
      if (db.name !== "sqlite") await dataSource.query(`ALTER TABLE ${dataSource.driver.escape(table)} ALTER COLUMN ${dataSource.driver.escape("tag")} SET DEFAULT 'db-tag'`);
      const koper = new Koper();
      const accounts = new AccountCalls();
      koper.register(accounts);
      await koper.start();
      const handle = koperTypeorm(dataSource, koper);
      cleanups.push(async () => {
        await koper.stop();
        handle.detach();
        await dataSource.query(`DROP TABLE ${dataSource.driver.escape(table)}`);
        await dataSource.destroy();
      });
      const raw = async (id: number): Promise<Row> => {
        const [row] = (await dataSource.query(`SELECT * FROM ${dataSource.driver.escape(table)} WHERE ${dataSource.driver.escape("id")} = ${id}`)) as Row[];
        return { ...row };
      };
      const settle = async () => (await koper.stop(), accounts.calls);
      return { dataSource, m: dataSource.manager, Account, raw, settle, tagDefault: db.name === "sqlite" ? null : "db-tag" };
    };

    it("insert: an insert: false column holds the row's value (TypeORM's default, or the database's, read back), never the entity's unwritten one", async () => {
      const { m, Account, raw, settle, tagDefault } = await setup();
      const saved = await m.save(m.create(Account, { name: "ada", createdBy: "alice", passwordHash: "h1", status: "forced", tag: "forced", note: "n1" }));
      await m.insert(Account, { name: "bob", createdBy: "bob", status: "forced", tag: "forced" });
      const calls = await settle();
      expect(calls.map((c) => c.handler)).toEqual(["onInsertAccount", "onInsertAccount"]);
      const [save, insert] = calls.map((c) => c.event);
      expect(await raw(saved.id)).toMatchObject({ status: "new", tag: tagDefault, createdBy: "alice", passwordHash: "h1" });
      expect(save!.data).toEqual({ id: saved.id, name: "ada", createdBy: "alice", passwordHash: "h1", status: "new", tag: tagDefault, note: "n1" });
      expect(insert!.data).toMatchObject({ name: "bob", createdBy: "bob", status: "new", tag: tagDefault });
    });

    it("save of a loaded entity: an update: false column it changed keeps the row's value and is no change; a select: false column not loaded is in none of data, before, changes", async () => {
      const { m, Account, raw, settle, tagDefault } = await setup();
      const { id } = await m.save(m.create(Account, { name: "ada", createdBy: "alice", passwordHash: "h1", note: "n1" }));
      const loaded = await m.findOneByOrFail(Account, { id });
      Object.assign(loaded, { name: "ada2", createdBy: "mallory" });
      await m.save(loaded);
      const again = await m.findOneByOrFail(Account, { id });
      again.createdBy = "eve"; // only a column TypeORM never updates: no UPDATE, no event
      await m.save(again);
      await m.save(Account, { id, name: "ada3", createdBy: "trudy" }); // a partial entity: TypeORM sets its missing nullable fields to null, after its UPDATE
      const calls = await settle();
      expect(await raw(id)).toMatchObject({ name: "ada3", createdBy: "alice", passwordHash: "h1", note: "n1" });
      expect(calls.map((c) => c.handler)).toEqual(["onInsertAccount", "onUpdateAccount", "onUpdateAccount"]);
      const row = { id, createdBy: "alice", status: "new", tag: tagDefault, note: "n1" };
      for (const [at, [name, was]] of [["ada2", "ada"], ["ada3", "ada2"]].entries()) {
        const event = calls[at + 1]!.event;
        expect(event.changes).toEqual(["name"]);
        expect(event.before).toEqual({ ...row, name: was });
        expect(event.data).toEqual({ ...row, name });
      }
    });

    it("the same entity object saved twice: TypeORM set its unloaded select: false column to null after the first save and writes that null in the second; the event says so", async () => {
      const { m, Account, raw, settle } = await setup();
      const { id } = await m.save(m.create(Account, { name: "ada", createdBy: "alice", passwordHash: "h1" }));
      const loaded = await m.findOneByOrFail(Account, { id });
      loaded.name = "ada2";
      await m.save(loaded);
      expect(loaded.passwordHash).toBeNull(); // TypeORM's doing, not Koper's
      loaded.name = "ada3";
      await m.save(loaded);
      const calls = await settle();
      expect((await raw(id)).passwordHash).toBeNull();
      const [first, second] = calls.slice(1).map((c) => c.event);
      expect(first!.changes).toEqual(["name"]);
      expect(first!.data).not.toHaveProperty("passwordHash");
      expect(second!.changes).toEqual(["name", "passwordHash"]);
      expect(second!.data).toMatchObject({ name: "ada3", passwordHash: null });
    });

    it("save of an entity whose select: false column was loaded and changed: the change, with no before value TypeORM never read", async () => {
      const { m, Account, settle } = await setup();
      const { id } = await m.save(m.create(Account, { name: "ada", createdBy: "alice", passwordHash: "h1" }));
      const loaded = await m.createQueryBuilder(Account, "a").addSelect("a.passwordHash").where({ id }).getOneOrFail();
      loaded.passwordHash = "h2";
      await m.save(loaded);
      const update = (await settle())[1]!.event;
      expect(update.changes).toEqual(["passwordHash"]);
      expect(update.data).toMatchObject({ passwordHash: "h2", createdBy: "alice" });
      expect(update.before).not.toHaveProperty("passwordHash");
    });

    it("update(where, set) with an update: false column: bulk.set and changes carry only what the UPDATE set", async () => {
      const { m, Account, raw, settle } = await setup();
      const { id } = await m.save(m.create(Account, { name: "ada", createdBy: "alice" }));
      await m.update(Account, { id }, { name: "ada2", createdBy: "mallory", status: "active" });
      const bulk = (await settle())[1]!.event;
      expect(await raw(id)).toMatchObject({ name: "ada2", createdBy: "alice", status: "active" });
      expect(bulk.bulk?.set).toEqual({ name: "ada2", status: "active" });
      expect(bulk.changes).toEqual(["name", "status"]);
    });

    it("remove: before is the row TypeORM read, without the select: false column it never reads (even when the app loaded it)", async () => {
      const { m, Account, settle, tagDefault } = await setup();
      const { id } = await m.save(m.create(Account, { name: "ada", createdBy: "alice", passwordHash: "h1", note: "n1" }));
      const other = await m.save(m.create(Account, { name: "bob", createdBy: "bob", passwordHash: "h2" }));
      await m.remove(await m.findOneByOrFail(Account, { id }));
      await m.remove(await m.createQueryBuilder(Account, "a").addSelect("a.passwordHash").where({ id: other.id }).getOneOrFail());
      const [remove, removeLoaded] = (await settle()).slice(2).map((c) => c.event);
      expect(remove!.data).toBeNull();
      expect(remove!.before).toEqual({ id, name: "ada", createdBy: "alice", status: "new", tag: tagDefault, note: "n1" });
      expect(removeLoaded!.before).toEqual({ id: other.id, name: "bob", createdBy: "bob", status: "new", tag: tagDefault, note: null });
    });

    it("an update whose statement is not matched by key (a key with a transformer): data holds the foreign key the UPDATE wrote, not the old one", async () => {
      const { Team, Badge } = defineBadge(db);
      const dataSource: DataSource = new db.orm.DataSource({ ...db.options, entities: [Team, Badge], synchronize: true, logging: false } as DataSourceOptions);
      await dataSource.initialize();
      const koper = new Koper();
      const badges = new BadgeCalls();
      koper.register(badges);
      await koper.start();
      const handle = koperTypeorm(dataSource, koper);
      const tables = [dataSource.getMetadata(Badge).tableName, dataSource.getMetadata(Team).tableName];
      cleanups.push(async () => {
        await koper.stop();
        handle.detach();
        for (const table of tables) await dataSource.query(`DROP TABLE ${dataSource.driver.escape(table)}`);
        await dataSource.destroy();
      });
      const m = dataSource.manager;
      const [red, blue] = [await m.save(m.create(Team, { name: "red" })), await m.save(m.create(Team, { name: "blue" }))];
      await m.save(m.create(Badge, { code: "x1", name: "first", issuedBy: "alice", team: red }));
      const badge = await m.findOneOrFail(Badge, { where: { code: "x1" }, relations: { team: true } });
      Object.assign(badge, { team: blue, name: "second", issuedBy: "mallory" });
      await m.save(badge);
      const [row] = (await dataSource.query(`SELECT * FROM ${dataSource.driver.escape(tables[0]!)}`)) as Row[];
      await koper.stop();
      expect(row).toMatchObject({ teamId: blue.id, name: "second", issuedBy: "alice" });
      expect(badges.updates).toHaveLength(1);
      expect(badges.updates[0]!.data).toMatchObject({ code: "x1", name: "second", issuedBy: "alice", teamId: blue.id });
      expect(badges.updates[0]!.before).toMatchObject({ name: "first", teamId: red.id });
      expect(badges.updates[0]!.changes).toContain("name");
      expect(badges.updates[0]!.changes).not.toContain("issuedBy");
    });

    it("a refused write: the attempt holds no value TypeORM left out of its statement", async () => {
      const { m, Account, settle } = await setup();
      await m.save(m.create(Account, { name: "taken", createdBy: "bob" }));
      const { id } = await m.save(m.create(Account, { name: "ada", createdBy: "alice" }));
      const loaded = await m.findOneByOrFail(Account, { id });
      Object.assign(loaded, { name: "taken", createdBy: "mallory" });
      await expect(m.save(loaded)).rejects.toThrow();
      await expect(m.save(m.create(Account, { name: "taken", createdBy: "carol", tag: "forced" }))).rejects.toThrow();
      const calls = await settle();
      expect(calls.map((c) => c.handler)).toEqual(["onInsertAccount", "onInsertAccount", "onUpdateAccount_X", "onInsertAccount_X"]);
      const [update, insert] = calls.slice(2).map((c) => c.event);
      expect(update!.data).toMatchObject({ id, name: "taken", createdBy: "alice" });
      expect(insert!.data).toMatchObject({ name: "taken", createdBy: "carol" });
      expect(insert!.data).not.toHaveProperty("tag");
    });
  });
}
