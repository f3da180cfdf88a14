import { listenOnPool, runSilenced, type PgPoolLike, type SqlClient, type SqlDialect, type TxExecutor } from "@koper/core";
import { PrismaAdapterError } from "./errors.ts";

interface RawClient {
  _engineConfig?: { adapter?: PgAdapterFactory };
  $queryRawUnsafe(sql: string, ...params: unknown[]): Promise<unknown>;
  $transaction(fn: (tx: RawClient) => Promise<unknown>, options?: unknown): Promise<unknown>;
}

/** The SQL dialect of a Prisma provider, for core's in-transaction writers. */
export function dialectOf(provider: string): SqlDialect {
  if (provider === "postgresql" || provider === "cockroachdb") return "postgres";
  if (provider === "mysql") return "mysql";
  if (provider === "sqlite") return "sqlite";
  throw PrismaAdapterError.unsupportedDialect(provider);
}

/** Runs statements on a transaction's client (`tx` of `$transaction(async (tx) => …)`). Silenced: not the app's writes. */
export function executorOf(tx: unknown, dialect: SqlDialect): TxExecutor {
  const client = tx as RawClient;
  return {
    dialect,
    query: async (sql, params) => rowsOf(await runSilenced(() => client.$queryRawUnsafe(sql, ...(params ?? [])))),
  };
}

/**
 * A SqlClient on a Prisma client (the base client, so its transactions are not the application's):
 * what the outbox relay, the inbox and the audit use.
 */
export function sqlClientOf(prisma: unknown, provider: string): SqlClient {
  const dialect = dialectOf(provider);
  const client = prisma as RawClient;
  const sql: SqlClient = {
    ...executorOf(client, dialect),
    transaction: <T>(fn: (tx: TxExecutor) => Promise<T>) =>
      runSilenced(() => client.$transaction((tx) => fn(executorOf(tx, dialect)), { timeout: 60_000, maxWait: 30_000 })) as Promise<T>,
  };
  const factory = client._engineConfig?.adapter;
  if (dialect === "postgres" && typeof factory?.connect === "function") sql.listen = (channel, onNotify, onError) => listenPg(factory, channel, onNotify, onError);
  return sql;
}

/** The part of `@prisma/adapter-pg`'s `PrismaPg` LISTEN uses: a pool the user gave it, or how to make one. */
interface PgAdapterFactory {
  adapterName?: string;
  /** Set when `new PrismaPg(pool)` was given a `pg.Pool`. */
  externalPool?: PgPoolLike | null;
  connect(): Promise<{ underlyingDriver?(): unknown; dispose(): Promise<void> }>;
}

// LISTEN needs a connection of its own for as long as it listens: from the pool given to PrismaPg,
// or from a pool of one more connection made with PrismaPg's own settings (closed on unlisten).
async function listenPg(factory: PgAdapterFactory, channel: string, onNotify: () => void, onError?: (error: unknown) => void): Promise<() => Promise<void>> {
  if (factory.externalPool) return listenOnPool(factory.externalPool, channel, onNotify, { onError });
  const adapter = await factory.connect();
  const pool = adapter.underlyingDriver?.() as PgPoolLike | undefined;
  if (typeof pool?.connect !== "function") {
    await adapter.dispose();
    throw PrismaAdapterError.listenUnavailable(String(factory.adapterName ?? "unknown"));
  }
  const unlisten = await listenOnPool(pool, channel, onNotify, { onError }).catch(async (error: unknown) => {
    await adapter.dispose();
    throw error;
  });
  return async () => {
    await unlisten();
    await adapter.dispose();
  };
}

// BigInt columns come back as bigint: numbers, for core (outbox ids and times fit in 2^53).
function rowsOf(result: unknown): Record<string, unknown>[] {
  if (!Array.isArray(result)) return [];
  return (result as Record<string, unknown>[]).map((row) => {
    for (const [k, v] of Object.entries(row)) if (typeof v === "bigint") row[k] = Number(v);
    return row;
  });
}
