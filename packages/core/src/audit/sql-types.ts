// The in-transaction write interface agreed in wave 2 (built in core by the outbox branch);
// held here until that branch lands, then re-exported from its home.

/** SQL dialect of a client; core writes each statement once per dialect. */
export type SqlDialect = "sqlite" | "postgres" | "mysql";

/** Runs statements inside one transaction the caller owns (e.g. the app's transaction about to commit). */
export interface TxExecutor {
  readonly dialect: SqlDialect;
  /** Runs one statement with positional params ($1.. on postgres, ? elsewhere); returns rows. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
}

/** A connection-level SQL client an adapter builds from its ORM (or a user from a plain driver). */
export interface SqlClient extends TxExecutor {
  /** Runs fn in one transaction on one connection; commits when it resolves. */
  transaction<T>(fn: (tx: TxExecutor) => Promise<T>): Promise<T>;
  /** PostgreSQL only: LISTEN on a channel; resolves to an unlisten function. */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}
