import { decodeEvent, ensureOutboxTable, Koper, type DataEvent, type KoperOptions, type TxExecutor } from "@koper/core";
import type { Broker } from "@koper/kafka-broker";
import mysql from "mysql2/promise";
import pg from "pg";
import type { AdapterHarness, HarnessFactory } from "../contract/harness.ts";
import { uniqueName } from "../kafka/support.ts";
import { SERVERS } from "../support/servers.ts";

/** Every data event the broker holds on `topic`, per partition in log order (duplicates kept), decoded as a consumer would. */
export function brokerEvents(broker: Broker, topic: string): DataEvent[][] {
  return broker.offsets(topic).map(({ partition }) =>
    broker.records(topic, partition).map((record) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of record.headers ?? []) if (value) headers[name] = value.toString("utf8");
      return decodeEvent(record.value!, headers) as DataEvent;
    }),
  );
}

/**
 * Checks what reached the broker: each event's first copy, per key in log order. Returns the
 * distinct events by id and, per routing key, the `field` values (default `seq`) in first-arrival order.
 */
export function firstArrivals(partitions: DataEvent[][], field = "seq"): { byId: Map<string, DataEvent>; copies: number; perKey: Map<string, unknown[]> } {
  const byId = new Map<string, DataEvent>();
  const perKey = new Map<string, unknown[]>();
  let copies = 0;
  for (const events of partitions) {
    for (const event of events) {
      copies++;
      if (byId.has(event.id)) continue;
      byId.set(event.id, event);
      const key = `${event.entity}:${JSON.stringify(event.key)}`;
      perKey.set(key, [...(perKey.get(key) ?? []), (event.data as Record<string, unknown> | null)?.[field]]);
    }
  }
  return { byId, copies, perKey };
}

/**
 * Commits one transaction of `rows` events on `client` through the capture API, as an adapter does:
 * begin, record, the before-COMMIT handoff inside the transaction, commit. Each row's fields but
 * `key` (`seq`, and any others) are the event's data, next to `id: key`.
 */
export async function writeTransaction(
  koper: Koper,
  client: { transaction<T>(fn: (tx: TxExecutor) => Promise<T>): Promise<T> },
  rows: ({ key: number; seq: number } & Record<string, unknown>)[],
): Promise<void> {
  const handle = {};
  await client.transaction(async (tx) => {
    koper.capture.begin(handle);
    for (const { key, ...fields } of rows) {
      await koper.capture.record(handle, { entity: "Account", action: "update", key: { id: key }, data: { id: key, ...fields }, source: { orm: "test" } });
    }
    await koper.capture.beforeCommit(handle, tx);
  }).catch((error: unknown) => {
    koper.capture.rollback(handle);
    throw error;
  });
  await koper.capture.commit(handle);
}

/**
 * A PostgreSQL schema of the test's own (`<prefix>_<unique>`), dropped by a step pushed on `cleanup`;
 * `admin` is the connection that made it, open until then.
 */
export async function ownSchema(prefix: string, cleanup: (() => Promise<void>)[]): Promise<{ schema: string; admin: pg.Client }> {
  const schema = uniqueName(prefix).replace(/-/g, "_");
  const admin = new pg.Client(SERVERS.postgres);
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  cleanup.push(async () => {
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.end();
  });
  return { schema, admin };
}

/** A MariaDB database of the test's own (`<prefix>_<unique>`), dropped by a step pushed on `cleanup`. */
export async function ownDatabase(prefix: string, cleanup: (() => Promise<void>)[]): Promise<{ database: string }> {
  const database = uniqueName(prefix).replace(/-/g, "_");
  const { host, port, user, password } = SERVERS.mariadb;
  const admin = await mysql.createConnection({ host, port, user, password });
  await admin.query(`CREATE DATABASE \`${database}\``);
  cleanup.push(async () => {
    await admin.query(`DROP DATABASE \`${database}\``);
    await admin.end();
  });
  return { database };
}

/**
 * A started writer Koper whose ORM (`factory`) writes to an outbox table of its own, with its relay
 * off (the test runs the relays); closing, dropping the table and stopping are pushed on `cleanup`.
 */
export async function ormOutboxWriter(factory: HarnessFactory, cleanup: (() => Promise<void>)[], options: KoperOptions = {}): Promise<{ writer: Koper; db: AdapterHarness; table: string }> {
  const table = `koper_outbox_${Math.random().toString(36).slice(2, 10)}`;
  const writer = new Koper(options);
  const db = await factory(writer, { outbox: { table, relay: false } });
  cleanup.push(() => db.close());
  await ensureOutboxTable(db.sqlClient, { table });
  cleanup.push(async () => {
    await db.sqlClient.query(`DROP TABLE ${table}`);
    await db.sqlClient.query(`DROP TABLE ${table}_lease`);
  });
  await writer.start();
  cleanup.push(() => writer.stop());
  return { writer, db, table };
}
