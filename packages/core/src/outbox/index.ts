import type { SqlClient } from "../capture/in-transaction.ts";
import type { OutboxRelayOptions } from "./OutboxRelay.ts";
import { SqlOutboxStore, type OutboxStore, type SqlOutboxStoreOptions } from "./OutboxStore.ts";

/** `outbox: true | {...}` on an adapter, or `koper.attachOutbox(client, options)`. */
export interface OutboxOptions extends SqlOutboxStoreOptions, Omit<OutboxRelayOptions, "retentionMs"> {
  /** Run the relay in this process, started by `koper.start()`. Default true; false for writer-only processes. */
  relay?: boolean;
  /** The store; default the SQL table on the client (`SqlOutboxStore`). */
  store?: OutboxStore;
}

/**
 * Creates the outbox table, its indexes and its lease rows when missing. For tests and demos:
 * production runs the migration of its database (packages/core/src/outbox/migrations/outbox-*.sql).
 */
export function ensureOutboxTable(client: SqlClient, options: SqlOutboxStoreOptions = {}): Promise<void> {
  return new SqlOutboxStore(client, options).ensureTable();
}
