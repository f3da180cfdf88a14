import { sqlClientFrom, type SqlClient } from "@koper/core";
import { CliError } from "./errors.ts";

/** An open database for the audit commands: its client, the audit table's name, and how to close it. */
export interface Connection {
  client: SqlClient;
  table: string | undefined;
  close(): Promise<void>;
}

async function load<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    throw CliError.driverMissing(name, error);
  }
}

/**
 * Opens a database URL with the driver it names (pg, mysql2 or node:sqlite), loaded only then:
 * postgres://user@host/db?schema=s, mysql://user@host/db (or mariadb://), sqlite:path/to/file.db.
 */
export async function connect(url: string, table?: string): Promise<Connection> {
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") {
    const { default: pg } = await load<{ default: { Pool: new (options: object) => { end(): Promise<void> } } }>("pg");
    const parsed = new URL(url);
    const schema = parsed.searchParams.get("schema");
    parsed.searchParams.delete("schema");
    const pool = new pg.Pool({ connectionString: parsed.toString(), max: 2 });
    return { client: sqlClientFrom(pool), table: table ?? (schema ? `${schema}.koper_audit` : undefined), close: () => pool.end() };
  }
  if (scheme === "mysql" || scheme === "mariadb") {
    const mysql = await load<{ createPool(url: string): { end(): Promise<void> } }>("mysql2/promise");
    const pool = mysql.createPool(url.replace(/^mariadb:/i, "mysql:"));
    return { client: sqlClientFrom(pool), table, close: () => pool.end() };
  }
  if (scheme === "sqlite" || scheme === "file") {
    const { DatabaseSync } = await load<{ DatabaseSync: new (path: string, options: object) => { close(): void } }>("node:sqlite");
    const db = new DatabaseSync(url.replace(/^(sqlite|file):(\/\/)?/i, ""), { readOnly: false });
    return { client: sqlClientFrom(db), table, close: async () => db.close() };
  }
  throw CliError.unsupportedUrl(url);
}
