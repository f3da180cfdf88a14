import { listenOnPool, runSilenced, type PgPoolLike, type SqlClient, type SqlDialect, type TxExecutor } from "@koper/core";
import type { DataSource, QueryRunner } from "typeorm";
import { TypeormAdapterError } from "./errors.ts";

/** The SQL dialect of a DataSource, for core's in-transaction writers (outbox, audit). */
export function dialectOf(dataSource: DataSource): SqlDialect {
  const type = String(dataSource.options.type);
  if (type === "postgres" || type === "cockroachdb" || type === "aurora-postgres") return "postgres";
  if (type === "mysql" || type === "mariadb" || type === "aurora-mysql") return "mysql";
  if (type === "sqlite" || type === "better-sqlite3" || type === "sqljs" || type === "capacitor" || type === "expo") return "sqlite";
  throw TypeormAdapterError.unsupportedDialect(type);
}

/**
 * Runs statements on a QueryRunner (the transaction about to commit). Silenced: the adapter's own
 * statements are not the application's writes.
 */
export function executorOf(runner: QueryRunner, dialect: SqlDialect): TxExecutor {
  return {
    dialect,
    query: async (sql, params) => rowsOf(await runSilenced(() => runner.query(sql, params as unknown[] | undefined))),
  };
}

/** A SqlClient on a DataSource: what the outbox relay, the inbox and the audit use. */
export function sqlClientOf(dataSource: DataSource): SqlClient {
  const dialect = dialectOf(dataSource);
  const client: SqlClient = {
    dialect,
    query: async (sql, params) => rowsOf(await runSilenced(() => dataSource.query(sql, params as unknown[] | undefined))),
    transaction: (fn) => runSilenced(() => dataSource.transaction((manager) => fn(executorOf(manager.queryRunner!, dialect)))),
  };
  if (dialect === "postgres") client.listen = (channel, onNotify, onError) => listenPg(dataSource, channel, onNotify, onError);
  return client;
}

// LISTEN needs a connection of its own for as long as it listens: one from the driver's pool.
// Async so that a missing pool rejects (the relay then logs it and polls) rather than throws at the caller.
async function listenPg(dataSource: DataSource, channel: string, onNotify: () => void, onError?: (error: unknown) => void): Promise<() => Promise<void>> {
  const pool = (dataSource.driver as unknown as { master?: PgPoolLike }).master;
  if (!pool) throw TypeormAdapterError.unsupportedDialect("postgres without a pool");
  return listenOnPool(pool, channel, onNotify, { onError });
}

// TypeORM returns rows for SELECT/RETURNING and driver-specific results (OkPacket, counts) otherwise.
function rowsOf(result: unknown): Record<string, unknown>[] {
  if (!Array.isArray(result)) return [];
  // PostgreSQL UPDATE/DELETE … RETURNING through TypeORM comes back as [rows, count].
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") return result[0] as Record<string, unknown>[];
  return result as Record<string, unknown>[];
}
