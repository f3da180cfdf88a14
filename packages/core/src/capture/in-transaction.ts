import type { DataEvent } from "../envelope/DataEvent.ts";

/** SQL dialect of a client; core writes each statement once per dialect. */
export type SqlDialect = "sqlite" | "postgres" | "mysql";

/** Runs statements inside one transaction the caller owns (e.g. the app's transaction about to commit). */
export interface TxExecutor {
  readonly dialect: SqlDialect;
  /**
   * Runs one statement with positional params (`$1`.. on postgres, `?` elsewhere: writing the
   * right placeholders is the store's job); returns the rows it selected or returned ([] if none).
   * On PostgreSQL a param may be a JS array (the audit's `unnest` insert sends a column that cannot
   * go as one joined text that way): the driver must bind it as a PostgreSQL array, as `pg` does.
   */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
}

/** A connection-level SQL client an adapter builds from its ORM (or a user from a plain driver). */
export interface SqlClient extends TxExecutor {
  /** Runs fn in one transaction on one connection; commits when it resolves, rolls back when it rejects. */
  transaction<T>(fn: (tx: TxExecutor) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only: LISTEN on a channel; resolves to an unlisten function. `onError` is told when
   * the LISTEN connection breaks or cannot be opened again (the listener recovers on its own).
   */
  listen?(channel: string, onNotify: () => void, onError?: (error: unknown) => void): Promise<() => Promise<void>>;
}

/** Writes a committing transaction's events inside that transaction, just before COMMIT. */
export interface InTransactionWriter {
  /** Called once per outermost commit with the transaction's final (placed, stamped, redacted) events. */
  write(events: readonly DataEvent[], tx: TxExecutor): Promise<void>;
  /** Failure events (published at once, outside the app's transaction), e.g. for the audit. Optional. */
  writeFailed?(events: readonly DataEvent[], client: SqlClient): Promise<void>;
  /** Told after the transaction whose events `write` got committed (the outbox wakes its relay). Optional. */
  afterCommit?(events: readonly DataEvent[]): void;
  /** True for the outbox: the relay publishes later, so capture.commit() must not publish these events. */
  readonly takesOverPublishing: boolean;
}
