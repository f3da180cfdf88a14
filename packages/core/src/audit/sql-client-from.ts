import { AuditError } from "../errors.ts";
import { listenOnPool, type PgPoolLike } from "../outbox/pg-listen.ts";
import type { SqlClient, SqlDialect, TxExecutor } from "../capture/in-transaction.ts";

type Rows = Record<string, unknown>[];
type Fn = (...args: any[]) => any;
interface Duck { [name: string]: unknown }

/**
 * A SqlClient over a plain driver object the caller already has: a pg `Pool` or `Client`, a mysql2
 * pool or connection (promise or callback API), or a node:sqlite `DatabaseSync`. Core imports none
 * of them: it only calls the methods those objects have.
 */
export function sqlClientFrom(driver: object): SqlClient {
  const d = driver as Duck;
  if (typeof d.prepare === "function" && typeof d.exec === "function") return sqliteClient(d);
  if (typeof d.getConnection === "function" || typeof d.execute === "function") {
    const promised = typeof d.promise === "function" ? (d.promise as Fn).call(d) : d;
    return mysqlClient(promised as Duck);
  }
  if (typeof d.query === "function" && typeof d.connect === "function") return postgresClient(d);
  throw AuditError.unsupportedDriver(driver.constructor?.name ?? typeof driver);
}

/** Serializes work on one connection, so two transactions never interleave on it. */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Runs fn between BEGIN and COMMIT on `exec`, rolling back when it throws. */
async function inTransaction<T>(exec: TxExecutor, begin: string, fn: (tx: TxExecutor) => Promise<T>): Promise<T> {
  await exec.query(begin);
  try {
    const result = await fn(exec);
    await exec.query("COMMIT");
    return result;
  } catch (error) {
    await exec.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

function sqliteParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}

function sqliteClient(db: Duck): SqlClient {
  const exec: TxExecutor = {
    dialect: "sqlite",
    query: async (sql, params = []) => {
      const statement = (db.prepare as Fn).call(db, sql);
      return statement.all(...params.map(sqliteParam)) as Rows;
    },
  };
  const queue = serial();
  return {
    dialect: "sqlite",
    query: (sql, params) => queue(() => exec.query(sql, params)),
    transaction: (fn) => queue(() => inTransaction(exec, "BEGIN IMMEDIATE", fn)),
  };
}

function executorOf(dialect: SqlDialect, run: (sql: string, params: readonly unknown[]) => Promise<Rows>): TxExecutor {
  return { dialect, query: (sql, params = []) => run(sql, params) };
}

function postgresClient(pg: Duck): SqlClient {
  const isPool = "totalCount" in pg;
  const run = (target: Duck) => async (sql: string, params: readonly unknown[]) =>
    ((await (target.query as Fn).call(target, sql, params)) as { rows: Rows }).rows ?? [];
  const queue = serial();
  const client: SqlClient = {
    dialect: "postgres",
    query: (sql, params = []) => (isPool ? run(pg)(sql, params) : queue(() => run(pg)(sql, params))),
    transaction: async (fn) => {
      if (!isPool) return queue(() => inTransaction(executorOf("postgres", run(pg)), "BEGIN", fn));
      const connection = (await (pg.connect as Fn).call(pg)) as Duck;
      try {
        return await inTransaction(executorOf("postgres", run(connection)), "BEGIN", fn);
      } finally {
        (connection.release as Fn).call(connection);
      }
    },
    listen: async (channel, onNotify, onError) => {
      // A pool: a connection of its own, replaced when it breaks (what every adapter's PostgreSQL LISTEN is).
      if (isPool) return listenOnPool(pg as unknown as PgPoolLike, channel, onNotify, { onError });
      const connection = pg as Duck & { on: Fn; off: Fn };
      const handler = (message: { channel: string }) => message.channel === channel && onNotify();
      connection.on("notification", handler);
      await run(connection)(`LISTEN "${channel.replace(/"/g, '""')}"`, []);
      return async () => {
        await run(connection)(`UNLISTEN "${channel.replace(/"/g, '""')}"`, []);
        connection.off("notification", handler);
      };
    },
  };
  return client;
}

function mysqlClient(my: Duck): SqlClient {
  const run = (target: Duck) => async (sql: string, params: readonly unknown[]) => {
    const [rows] = (await (target.query as Fn).call(target, sql, params)) as [unknown];
    return Array.isArray(rows) ? (rows as Rows) : [];
  };
  const isPool = typeof my.getConnection === "function";
  const queue = serial();
  return {
    dialect: "mysql",
    query: (sql, params = []) => (isPool ? run(my)(sql, params) : queue(() => run(my)(sql, params))),
    transaction: async (fn) => {
      if (!isPool) return queue(() => inTransaction(executorOf("mysql", run(my)), "BEGIN", fn));
      const connection = (await (my.getConnection as Fn).call(my)) as Duck;
      try {
        return await inTransaction(executorOf("mysql", run(connection)), "BEGIN", fn);
      } finally {
        (connection.release as Fn).call(connection);
      }
    },
  };
}
