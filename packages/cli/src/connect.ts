import { existsSync } from "node:fs";
import { sqlClientFrom, type SqlClient } from "@koper/core";
import { CliError } from "./errors.ts";

/** An open database for the audit commands: its client, the audit table's name, and how to close it. */
export interface Connection {
  client: SqlClient;
  table: string | undefined;
  close(): Promise<void>;
}

/** How long connecting may take before the command gives up (a server that never answers). */
export const CONNECT_TIMEOUT_MS = 10_000;

async function load<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    throw CliError.driverMissing(name, error);
  }
}

interface Pool {
  end(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): unknown;
}

/**
 * Opens a database URL with the driver it names (pg, mysql2 or node:sqlite), loaded only then:
 * postgres://user@host/db?schema=s, mysql://user@host/db (or mariadb://), sqlite:path/to/file.db
 * (an existing file, opened read-only: the commands only read).
 */
export async function connect(url: string, table?: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Connection> {
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") {
    const { default: pg } = await load<{ default: { Pool: new (options: object) => Pool } }>("pg");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw CliError.unsupportedUrl(url);
    }
    const schema = parsed.searchParams.get("schema");
    parsed.searchParams.delete("schema");
    const pool = new pg.Pool({ connectionString: parsed.toString(), max: 2, connectionTimeoutMillis: timeoutMs });
    pool.on("error", () => undefined); // an idle connection the server closed: the query that needs it fails instead
    return { client: sqlClientFrom(pool), table: table ?? (schema ? `${schema}.koper_audit` : undefined), close: () => pool.end() };
  }
  if (scheme === "mysql" || scheme === "mariadb") {
    const mysql = await load<{ createPool(options: object): Pool }>("mysql2/promise");
    const pool = mysql.createPool({ uri: url.replace(/^mariadb:/i, "mysql:"), connectTimeout: timeoutMs });
    pool.on("error", () => undefined);
    return { client: sqlClientFrom(pool), table, close: () => pool.end() };
  }
  if (scheme === "sqlite" || scheme === "file") {
    const path = url.replace(/^(sqlite|file):(\/\/)?/i, "");
    // node:sqlite would create a missing file: a typo'd path must not leave an empty database behind.
    if (path === "" || !existsSync(path)) throw CliError.noSqliteFile(path);
    const { DatabaseSync } = await load<{ DatabaseSync: new (path: string, options: object) => { close(): void } }>("node:sqlite");
    const db = new DatabaseSync(path, { readOnly: true });
    return { client: sqlClientFrom(db), table, close: async () => db.close() };
  }
  throw CliError.unsupportedUrl(url);
}
