import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PrismaLibSql } from "@prisma/adapter-libsql";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { createConnection } from "mysql2/promise";
import { PrismaClient as SqliteClient } from "./sqlite/generated/client.ts";
import { PrismaClient as PostgresClient } from "./postgres/generated/client.ts";
import { PrismaClient as MariadbClient } from "./mariadb/generated/client.ts";
import { SERVERS, serverSkip } from "../support/servers.ts";

/** The generated client type the tests use for all three databases (the models are the same). */
export type Client = SqliteClient;

/** A fresh database (SQLite file, PostgreSQL schema, MariaDB database) with the migration applied. */
export interface Opened {
  client: Client;
  /** Where the tables live: the schema or database name, or the SQLite file. */
  name: string;
  /** Disconnects and drops only this test's database. */
  drop(): Promise<void>;
}

/** Options of the client `open` makes beyond its adapter: the client-wide `omit`. */
export type ClientOptions = Pick<NonNullable<ConstructorParameters<typeof SqliteClient>[0]>, "omit">;

/** One database the Prisma tests run on. */
export interface PrismaDatabase {
  name: "sqlite" | "postgres" | "mariadb";
  /** Why the tests are skipped (server unreachable, not under CI), or undefined to run them. */
  skip: string | undefined;
  open(options?: ClientOptions): Promise<Opened>;
}

const PG = { host: SERVERS.postgres.host, port: SERVERS.postgres.port, user: SERVERS.postgres.user, database: SERVERS.postgres.database };
const MARIADB = { host: SERVERS.mariadb.host, port: SERVERS.mariadb.port, user: SERVERS.mariadb.user, password: SERVERS.mariadb.password };

/** A database to test on; for a server, checks it is reachable (under CI=true an unreachable one fails). */
export async function prismaDatabase(name: PrismaDatabase["name"]): Promise<PrismaDatabase> {
  const skip = await serverSkip(name, "Prisma");
  const open = name === "sqlite" ? openSqlite : name === "postgres" ? openPostgres : openMariadb;
  return { name, skip, open };
}

/** A random name: no two tests share a database. */
export function randomName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

function statements(db: string): string[] {
  const sql = readFileSync(new URL(`./${db}/migration.sql`, import.meta.url), "utf8");
  return sql.split(/;\s*\n/).map((s) => s.trim()).filter(Boolean);
}

async function openSqlite(options: ClientOptions = {}): Promise<Opened> {
  const file = join(tmpdir(), `${randomName("koper_prisma")}.db`);
  const client = new SqliteClient({ ...options, adapter: new PrismaLibSql({ url: `file:${file}` }) });
  for (const statement of ["PRAGMA foreign_keys = ON", ...statements("sqlite")]) await client.$executeRawUnsafe(statement);
  return {
    client,
    name: file,
    drop: async () => {
      await client.$disconnect();
      for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(file + suffix, { force: true });
    },
  };
}

async function openPostgres(options: ClientOptions = {}): Promise<Opened> {
  const schema = randomName("koper_prisma");
  const admin = new pg.Client(PG);
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.query(`SET search_path TO "${schema}"`);
    for (const statement of statements("postgres")) await admin.query(statement);
  } finally {
    await admin.end();
  }
  // search_path too: raw SQL (`$executeRaw`) is not qualified with the adapter's schema.
  const adapter = new PrismaPg({ ...PG, options: `-c search_path="${schema}"` }, { schema });
  const client = new PostgresClient({ ...(options as object), adapter }) as unknown as Client;
  return {
    client,
    name: schema,
    drop: async () => {
      await client.$disconnect();
      const cleanup = new pg.Client(PG);
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => cleanup.end());
    },
  };
}

async function openMariadb(options: ClientOptions = {}): Promise<Opened> {
  const database = randomName("koper_prisma");
  const admin = await createConnection(MARIADB);
  try {
    await admin.query(`CREATE DATABASE \`${database}\``);
    await admin.query(`USE \`${database}\``);
    for (const statement of statements("mariadb")) await admin.query(statement);
  } finally {
    await admin.end();
  }
  const adapter = new PrismaMariaDb({ ...MARIADB, database, connectionLimit: 5 });
  const client = new MariadbClient({ ...(options as object), adapter }) as unknown as Client;
  return {
    client,
    name: database,
    drop: async () => {
      await client.$disconnect();
      const cleanup = await createConnection(MARIADB);
      await cleanup.query(`DROP DATABASE IF EXISTS \`${database}\``).finally(() => cleanup.end());
    },
  };
}
