import { MikroORM, type Options } from "@mikro-orm/core";
import { MariaDbDriver } from "@mikro-orm/mariadb";
import { Migrator } from "@mikro-orm/migrations";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { NodeSqliteDialect, SqliteDriver } from "@mikro-orm/sql";
import mysql from "mysql2/promise";
import { defineEntities, type Entities } from "./entities.ts";
import { SERVERS as HOSTS, serverSkip, suffix } from "../support/servers.ts";

export { suffix };

/** One database the MikroORM tests run on. */
export interface Database {
  name: "sqlite" | "postgres" | "mariadb";
  /** Why the tests are skipped (server unreachable, not under CI), or undefined to run them. */
  skip: string | undefined;
}

const SERVERS = {
  postgres: { host: HOSTS.postgres.host, port: HOSTS.postgres.port, user: HOSTS.postgres.user, password: HOSTS.postgres.password, dbName: HOSTS.postgres.database },
  mariadb: { host: HOSTS.mariadb.host, port: HOSTS.mariadb.port, user: HOSTS.mariadb.user, password: HOSTS.mariadb.password, dbName: HOSTS.mariadb.database },
} as const;

/** A database to test on; for a server, checks it is reachable (under CI=true an unreachable one fails). */
export async function database(name: Database["name"]): Promise<Database> {
  return { name, skip: await serverSkip(name, "MikroORM") };
}

/** An initialized ORM on fresh tables of its own, and how to drop them. */
export interface TestOrm {
  orm: MikroORM;
  entities: Entities;
  /** Drops what `openOrm` created (only that: its own schema or database) and closes the ORM. */
  drop(): Promise<void>;
}

/**
 * Opens MikroORM on `db` with fresh tables: SQLite in memory through `node:sqlite`; PostgreSQL in a
 * schema of its own; MariaDB in a database of its own. Schema operations are always scoped to that
 * schema (an unscoped `orm.schema.update()` on PostgreSQL drops every other schema).
 */
export async function openOrm(db: Database, extra: Partial<Options> = {}): Promise<TestOrm> {
  const id = suffix();
  const entities = defineEntities(id);
  const common = { entities: entities.schemas, extensions: [Migrator], allowGlobalContext: false, debug: false, ...extra } as Options;
  if (db.name === "sqlite") {
    const orm = await MikroORM.init({ ...common, driver: SqliteDriver, dbName: ":memory:", driverOptions: new NodeSqliteDialect(":memory:") } as Options);
    await orm.schema.create();
    return { orm, entities, drop: () => orm.close(true) };
  }
  if (db.name === "postgres") {
    const schema = `koper_${id}`;
    const orm = await MikroORM.init({ ...common, driver: PostgreSqlDriver, ...SERVERS.postgres, schema } as Options);
    const drop = async () => {
      await orm.em.getConnection().execute(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await orm.close(true);
    };
    await orm.em.getConnection().execute(`CREATE SCHEMA "${schema}"`);
    await orm.schema.create({ schema }).catch(async (error) => {
      await drop();
      throw error;
    });
    return { orm, entities, drop };
  }
  const dbName = `koper_${id}`;
  const admin = await mysql.createConnection({ host: SERVERS.mariadb.host, port: SERVERS.mariadb.port, user: SERVERS.mariadb.user });
  await admin.query(`CREATE DATABASE \`${dbName}\``);
  const orm = await MikroORM.init({ ...common, driver: MariaDbDriver, ...SERVERS.mariadb, dbName } as Options);
  await orm.schema.create();
  return {
    orm,
    entities,
    drop: async () => {
      await orm.close(true);
      await admin.query(`DROP DATABASE \`${dbName}\``).finally(() => admin.end());
    },
  };
}
