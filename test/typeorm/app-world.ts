import { randomUUID } from "node:crypto";
import mysql from "mysql2/promise";
import pg from "pg";
import { Koper, dataListener, decodeEvent, type DataEvent, type KoperOptions } from "@koper/core";
import { koperTypeorm, type KoperTypeormOptions } from "@koper/typeorm";
import type { DataSource, DataSourceOptions, EntityManager } from "typeorm";
import { afterAll, afterEach, beforeAll } from "vitest";
import { RecordingTransport } from "../contract/RecordingTransport.ts";
import { SERVERS } from "../support/servers.ts";
import { defineApp, Money, type AppEntities } from "./app-entities.ts";
import { suffix, type Database } from "./databases.ts";

/** The entity names the app's events may carry: its entities and the junction of `Post.labels`. */
export const APP_ENTITIES = ["Member", "Label", "Content", "Post", "Page", "Stock", "Reaction", "Category", "Folder", "PostLabels"] as const;

/** One handler call: which handler got which event. */
export interface Call {
  handler: string;
  event: DataEvent;
}

/** One test's world: the file's DataSource with Koper attached afresh, and what it published. */
export interface AppWorld {
  dataSource: DataSource;
  app: AppEntities;
  koper: Koper;
  /** Stops Koper (everything published is handled first) and returns the handler calls in order. */
  settle(): Promise<Call[]>;
  /** Every event put on the transport, decoded as a consumer in another process would (after `settle`). */
  published(): DataEvent[];
  /** The published messages (topic, key, headers, value as text) that carry `text` anywhere. */
  carrying(text: string): string[];
  /** Every SQL statement run through the DataSource since the world was made. */
  queries: string[];
}

/**
 * The app on `db` in a schema (PostgreSQL) or database (MariaDB) of its own for the whole test
 * file, dropped after it; SQLite is a fresh in-memory sql.js database. Each test gets a new Koper
 * attached to the file's DataSource and detached after it.
 */
export function useApp(db: Database) {
  let dataSource: DataSource;
  let app: AppEntities;
  let dropScope: () => Promise<void> = async () => {};
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    if (db.skip !== undefined) return;
    const model = defineApp(db);
    app = model.entities;
    const scope = `koper_app_${suffix()}`;
    const where = await openScope(db, scope);
    dropScope = where.drop;
    dataSource = new db.orm.DataSource({
      ...db.options,
      ...where.options,
      entities: Object.values(model.entities),
      subscribers: model.subscribers,
      synchronize: true,
      logging: false,
    } as DataSourceOptions);
    await dataSource.initialize();
    // TypeORM's schema sync skips @Check on MySQL/MariaDB; MariaDB enforces CHECK, so add it by hand.
    if (db.name === "mariadb") await dataSource.query("ALTER TABLE `stock` ADD CONSTRAINT `chk_stock_on_hand` CHECK (on_hand >= 0)");
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await dropScope();
  });
  return async (koperOptions: KoperOptions = {}, adapterOptions: KoperTypeormOptions = {}): Promise<AppWorld> => {
    const transport = new RecordingTransport();
    const koper = new Koper({ ...koperOptions, transport });
    const calls: Call[] = [];
    koper.register(recorder(calls));
    await koper.start();
    const handle = koperTypeorm(dataSource, koper, adapterOptions);
    const queries: string[] = [];
    const spy = { afterQuery: (event: { query: string }) => void queries.push(event.query) };
    (dataSource.subscribers as unknown[]).push(spy);
    cleanups.push(async () => {
      await koper.stop();
      handle.detach();
      const subscribers = dataSource.subscribers as unknown[];
      subscribers.splice(subscribers.indexOf(spy), 1);
    });
    const published = () => transport.sent.filter((m) => !m.topic.includes("dead")).map((m) => decodeEvent(m.value, m.headers) as DataEvent);
    return { dataSource, app, koper, settle: async () => (await koper.stop(), calls), published, carrying: (text) => transport.carrying(text), queries };
  };
}

// A listener of every app entity and every handler kind, built with the function API.
function recorder(calls: Call[]): object {
  const handlers: Record<string, (...args: unknown[]) => void> = {};
  for (const entity of APP_ENTITIES) {
    for (const action of ["Insert", "Update", "Delete"]) {
      for (const failed of ["", "_X"]) {
        const row = `on${action}${entity}${failed}`;
        const bulk = `onBulk${action}${entity}${failed}`;
        handlers[row] = (_entity, event) => void calls.push({ handler: row, event: event as DataEvent });
        handlers[bulk] = (event) => void calls.push({ handler: bulk, event: event as DataEvent });
      }
    }
  }
  return dataListener()({ entity: [...APP_ENTITIES], ...(handlers as object) });
}

interface Scope {
  options: Partial<DataSourceOptions>;
  drop(): Promise<void>;
}

// A schema (PostgreSQL) or database (MariaDB) of the test file's own; only it is ever dropped.
async function openScope(db: Database, name: string): Promise<Scope> {
  if (db.name === "sqlite") return { options: {}, drop: async () => {} };
  if (db.name === "postgres") {
    const run = async (sql: string) => {
      const client = new pg.Client({ ...SERVERS.postgres });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await run(`CREATE SCHEMA "${name}"`);
    return { options: { schema: name } as Partial<DataSourceOptions>, drop: () => run(`DROP SCHEMA IF EXISTS "${name}" CASCADE`) };
  }
  const { host, port, user, password } = SERVERS.mariadb;
  const run = async (sql: string) => {
    const admin = await mysql.createConnection({ host, port, user, password });
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  await run(`CREATE DATABASE \`${name}\``);
  return { options: { database: name } as Partial<DataSourceOptions>, drop: () => run(`DROP DATABASE IF EXISTS \`${name}\``) };
}

/** The calls of one entity (and, optionally, of handlers whose name contains `handler`). */
export function of(calls: Call[], entity: string, handler?: string): Call[] {
  return calls.filter((c) => c.event.entity === entity && (!handler || c.handler.includes(handler)));
}

let counter = 0;
/** A unique, lower-case-able word for unique columns. */
export const unique = (prefix: string): string => `${prefix}${suffix().slice(0, 6)}${counter++}`;

/** Saves a new member with an app-set uuid key (the app's subscriber fills `handle` and lower-cases `email`). */
export async function newMember(w: AppWorld, extra: Record<string, unknown> = {}) {
  const m = w.dataSource.manager;
  const member = m.create(w.app.Member, {
    id: randomUUID(),
    email: `${unique("User")}@Example.com`,
    passwordHash: `hash-${randomUUID()}`,
    interests: ["jazz", "chess"],
    prefs: { theme: "dark", digest: true },
    home: { city: "Lyon", zip: "69001" },
    balance: new Money(500),
    ...extra,
  });
  return await m.save(member);
}

/**
 * Sets a date column of one row to 2001-01-01 by raw SQL (which publishes nothing), so that a
 * value the next write sets can be told from the old one even at a second's precision.
 */
export function age(w: AppWorld, entity: Function, property: string, key: Record<string, unknown>): Promise<void> {
  return rawSet(w.dataSource.manager, entity, property, "'2001-01-01 00:00:00'", key);
}

/** `UPDATE <entity's table> SET <property's column> = <sql> WHERE <key>` by raw SQL through `manager`. */
export async function rawSet(manager: EntityManager, entity: Function, property: string, sql: string, key: Record<string, unknown>): Promise<void> {
  const metadata = manager.connection.getMetadata(entity);
  const driver = manager.connection.driver;
  const column = (field: string) => driver.escape(metadata.findColumnWithPropertyPath(field)!.databaseName);
  const where = Object.keys(key).map((field, at) => `${column(field)} = ${driver.createParameter(`p${at}`, at)}`);
  const table = metadata.tablePath.split(".").map((part) => driver.escape(part)).join(".");
  await manager.query(`UPDATE ${table} SET ${column(property)} = ${sql} WHERE ${where.join(" AND ")}`, Object.values(key));
}

/** [handler, key] of each call: which rows got which events, in order. */
export function rows(calls: Call[]): [string, unknown][] {
  return calls.map((c) => [c.handler, c.event.key]);
}
