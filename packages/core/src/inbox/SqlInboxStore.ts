import { AsyncLocalStorage } from "node:async_hooks";
import type { SqlClient, TxExecutor } from "../capture/in-transaction.ts";
import { ConfigError } from "../errors.ts";

/**
 * A durable inbox: `inbox: { store }` on a listener. Each delivery runs the handler inside `run`,
 * which commits the handler's own database work and the "event id handled" row together, and skips
 * the handler when the row is already there (a redelivery after a crash before the offset commit).
 */
export interface InboxStore {
  /** Runs `handler` once per (group, event id) in one transaction; resolves false when it had already run. */
  run(group: string, eventId: string, handler: () => Promise<void>): Promise<boolean>;
}

const scope = new AsyncLocalStorage<TxExecutor>();

/** Inside a handler run by a `SqlInboxStore`: the transaction its work must use to commit with the inbox row. */
export function inboxTransaction(): TxExecutor {
  const tx = scope.getStore();
  if (!tx) throw ConfigError.invalidOption("inbox", "inboxTransaction() is only available inside a handler of a listener with inbox: { store }");
  return tx;
}

const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,50}$/;

/** The inbox on a SqlClient (an adapter's `sqlClientOf`, or a plain driver); the handler's SQL goes through `inboxTransaction()`. */
export class SqlInboxStore implements InboxStore {
  readonly #client: SqlClient;
  readonly #table: string;

  constructor(client: SqlClient, options: { table?: string } = {}) {
    this.#table = options.table ?? "koper_inbox";
    if (!TABLE_NAME.test(this.#table)) throw ConfigError.invalidOption("inbox.table", `expected a plain SQL identifier, got ${JSON.stringify(this.#table)}`);
    this.#client = client;
  }

  /** Creates the table when missing (for tests and demos; production puts it in its migrations). */
  async ensureTable(): Promise<void> {
    const text = this.#client.dialect === "mysql" ? "VARCHAR(255)" : "TEXT";
    await this.#client.query(
      `CREATE TABLE IF NOT EXISTS ${this.#table} (consumer_group ${text} NOT NULL, event_id VARCHAR(64) NOT NULL, handled_at BIGINT NOT NULL, PRIMARY KEY (consumer_group, event_id))`,
    );
  }

  run(group: string, eventId: string, handler: () => Promise<void>): Promise<boolean> {
    return this.#client.transaction(async (tx) => {
      if (!(await this.#claim(tx, group, eventId))) return false;
      await scope.run(tx, handler);
      return true;
    });
  }

  // True when this transaction inserted the row (a duplicate insert waits for the other transaction, then fails or finds it).
  async #claim(tx: TxExecutor, group: string, eventId: string): Promise<boolean> {
    const now = Date.now();
    if (tx.dialect === "mysql") {
      const seen = await tx.query(`SELECT 1 AS seen FROM ${this.#table} WHERE consumer_group = ? AND event_id = ? FOR UPDATE`, [group, eventId]);
      if (seen.length > 0) return false;
      await tx.query(`INSERT INTO ${this.#table} (consumer_group, event_id, handled_at) VALUES (?, ?, ?)`, [group, eventId, now]);
      return true;
    }
    const mark = tx.dialect === "postgres" ? ["$1", "$2", "$3"] : ["?", "?", "?"];
    const rows = await tx.query(
      `INSERT INTO ${this.#table} (consumer_group, event_id, handled_at) VALUES (${mark.join(", ")}) ON CONFLICT DO NOTHING RETURNING event_id`,
      [group, eventId, now],
    );
    return rows.length > 0;
  }
}
