import { databaseFamily, listenOnPool, runSilenced, type PgPoolLike, type SqlClient, type SqlDialect, type TxExecutor } from "@koper/core";
import type { EntityManager, Transaction } from "@mikro-orm/core";
import { MikroOrmAdapterError } from "./errors.ts";

interface SqlConnection {
  execute(sql: string, params?: readonly unknown[], method?: "all" | "get" | "run", ctx?: Transaction): Promise<unknown>;
  transactional<T>(cb: (trx: Transaction) => Promise<T>): Promise<T>;
  /** Runs `cb` as `query` and logs it with its timing (protected in MikroORM's types). */
  executeQuery?<T>(query: string, cb: () => Promise<T>, context?: Record<string, unknown>): Promise<T>;
  /** MikroORM 7's PostgreSqlConnection: the `pg` pool behind it. */
  getNativeClient?(): Promise<PgPoolLike>;
}

/** The SQL dialect of an EntityManager's platform, for core's in-transaction writers. */
export function dialectOf(em: EntityManager): SqlDialect {
  const family = databaseFamily(em.getPlatform().constructor.name);
  if (family === "other") throw MikroOrmAdapterError.unsupportedDialect(em.getPlatform().constructor.name);
  return family;
}

/** Runs statements in one MikroORM transaction (the one about to commit). Silenced: not the app's writes. */
export function executorOf(em: EntityManager, trx: Transaction, dialect: SqlDialect): TxExecutor {
  const connection = connectionOf(em);
  const kysely = trx as unknown as Partial<KyselyTransaction>;
  // PostgreSQL: bound parameters on the transaction's own Kysely connection. MikroORM's execute()
  // would format every value into the statement text, which the server then parses: for 100 audit
  // rows (~45 KB of literals) that is 0.4 ms of formatting in this process and a slower statement.
  // Still through the connection's executeQuery(), so MikroORM's query log shows the statement.
  if (dialect === "postgres" && typeof kysely.executeQuery === "function" && typeof connection.executeQuery === "function") {
    const logger = em.config.getLogger();
    const platform = em.getPlatform();
    return {
      dialect,
      query: async (sql, params = []) => {
        const run = async () => rowsOf(await kysely.executeQuery!(compiledQuery(sql, params)));
        if (!logger.isEnabled("query")) return connection.executeQuery!(sql, run);
        const shown = logger.isEnabled("query-params") ? platform.formatQuery(placeholders(sql), params) : placeholders(sql);
        return connection.executeQuery!(shown, run, { query: placeholders(sql), params });
      },
    };
  }
  return {
    dialect,
    query: async (sql, params) => rowsOf(await runSilenced(() => connection.execute(placeholders(sql), params ?? [], "all", trx))),
  };
}

/** What MikroORM 7's transaction object is: a Kysely transaction. */
interface KyselyTransaction {
  executeQuery(query: unknown): Promise<{ rows: unknown[] }>;
}

/** A Kysely CompiledQuery of raw SQL with bound parameters (what `CompiledQuery.raw(sql, parameters)` builds). */
function compiledQuery(sql: string, parameters: readonly unknown[]) {
  return { sql, parameters, query: { kind: "RawNode", sqlFragments: [sql], parameters: [] }, queryId: { queryId: "koper" } };
}

/** A SqlClient on a MikroORM (its write connection): what the outbox relay, the inbox and the audit use. */
export function sqlClientOf(em: EntityManager): SqlClient {
  const dialect = dialectOf(em);
  const connection = connectionOf(em);
  const client: SqlClient = {
    dialect,
    query: async (sql, params) => rowsOf(await runSilenced(() => connection.execute(placeholders(sql), params ?? [], "all"))),
    // The connection's own transactional() broadcasts no transaction events: the capture stays out.
    transaction: (fn) => runSilenced(() => connection.transactional((trx) => fn(executorOf(em, trx, dialect)))),
  };
  // PostgreSQL: LISTEN on a connection of its own from the driver's `pg` pool (`getNativeClient()`).
  if (dialect === "postgres" && connection.getNativeClient) {
    const native = connection.getNativeClient.bind(connection);
    client.listen = async (channel, onNotify, onError) => listenOnPool(await native(), channel, onNotify, { onError });
  }
  return client;
}

function connectionOf(em: EntityManager): SqlConnection {
  return em.getConnection("write") as unknown as SqlConnection;
}

// MikroORM formats parameters into the statement itself, always at `?`: core's `$n` (written in
// order) become `?`.
function placeholders(sql: string): string {
  return sql.replace(/\$\d+/g, "?");
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  const rows = (result as { rows?: unknown } | undefined)?.rows;
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
}
