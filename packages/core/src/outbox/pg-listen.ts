/** The connection of a node-postgres pool, as LISTEN uses it (structural: core does not import `pg`). */
export interface PgPoolClientLike {
  query(sql: string): Promise<unknown>;
  on(event: "notification" | "error", listener: (arg: never) => void): unknown;
  release(destroy?: boolean | Error): void;
}

/** A node-postgres `Pool` (or anything whose `connect()` hands out such a connection). */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>;
}

/** How a LISTEN connection recovers. */
export interface PgListenOptions {
  /** First wait before listening again after the connection broke; doubles up to 30 s. Default 500 ms. */
  retryMs?: number;
  /** Told when the connection broke or could not be opened again (the relay polls meanwhile). */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * LISTENs on `channel` on a connection of its own from `pool`, for as long as it listens: what
 * `SqlClient.listen` is on PostgreSQL for every adapter. A broken connection is replaced, and
 * `onNotify` is called once it listens again (a commit may have happened meanwhile). Resolves, once
 * listening, to the function that stops (UNLISTEN, and the connection goes back to the pool).
 */
export async function listenOnPool(pool: PgPoolLike, channel: string, onNotify: () => void, options: PgListenOptions = {}): Promise<() => Promise<void>> {
  const quoted = `"${channel.replace(/"/g, '""')}"`;
  let connection: PgPoolClientLike | undefined;
  let stopped = false;
  let retryMs = options.retryMs ?? 500;
  let timer: NodeJS.Timeout | undefined;

  const open = async (): Promise<void> => {
    const next = await pool.connect();
    // A checked-out connection's 'error' with no listener would crash the process.
    next.on("error", (error: Error) => broke(next, error));
    next.on("notification", () => onNotify());
    try {
      await next.query(`LISTEN ${quoted}`);
    } catch (error) {
      next.release(error as Error);
      throw error;
    }
    if (stopped) next.release(true); // stopped while reconnecting: a fresh session, closed
    else connection = next;
  };
  const broke = (which: PgPoolClientLike, error: unknown) => {
    if (connection !== which) return;
    connection = undefined;
    which.release(error as Error);
    options.onError?.(error);
    if (!stopped) again();
  };
  const again = () => {
    timer = setTimeout(() => {
      open().then(
        () => {
          retryMs = options.retryMs ?? 500;
          onNotify();
        },
        (error: unknown) => {
          options.onError?.(error);
          retryMs = Math.min(30_000, retryMs * 2);
          if (!stopped) again();
        },
      );
    }, retryMs);
    timer.unref();
  };

  await open();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const last = connection;
    connection = undefined;
    if (!last) return;
    try {
      await last.query(`UNLISTEN ${quoted}`);
      last.release();
    } catch (error) {
      last.release(error as Error);
    }
  };
}
