import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import mysql from "mysql2/promise";
import pg from "pg";
import { ensureAuditTable, sqlClientFrom, type SqlClient } from "@koper/core";
import { SERVERS, serverSkip } from "../support/servers.ts";

/** A fresh audit table on one database, reached through a plain driver, and how to drop it. */
export interface AuditDb {
  name: "sqlite" | "postgres" | "mariadb";
  client: SqlClient;
  /** The table, schema-qualified where the database has schemas. */
  table: string;
  /** A connection URL the CLI can open (sqlite: a file path). */
  url: string;
  /** The database's own dump tool, dumping the audit table: [command, ...args]. */
  dump: string[];
  close(): Promise<void>;
}

const PG = SERVERS.postgres;
const MARIADB = SERVERS.mariadb;

/** Why `name` is skipped (unreachable, outside CI), or undefined to run; unreachable under CI=true fails. */
export function skipReason(name: AuditDb["name"]): Promise<string | undefined> {
  return serverSkip(name, "audit");
}

/** Opens a fresh schema/database (random name) with an audit table in it. */
export async function openAuditDb(name: AuditDb["name"], file?: string): Promise<AuditDb> {
  const scope = `audit_${randomBytes(4).toString("hex")}`;
  if (name === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "koper-audit-"));
    const path = file ?? join(dir, "audit.db");
    const db = new DatabaseSync(path);
    const client = sqlClientFrom(db);
    await ensureAuditTable(client);
    const close = async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    };
    return { name, client, table: "koper_audit", url: `sqlite:${path}`, dump: ["sqlite3", path, ".dump koper_audit"], close };
  }
  if (name === "postgres") {
    const pool = new pg.Pool({ ...PG, max: 8 });
    await pool.query(`CREATE SCHEMA ${scope}`);
    const client = sqlClientFrom(pool);
    const table = `${scope}.koper_audit`;
    await ensureAuditTable(client, { table });
    const close = async () => {
      await pool.query(`DROP SCHEMA ${scope} CASCADE`);
      await pool.end();
    };
    const dump = ["pg_dump", "-h", PG.host, "-p", String(PG.port), "-U", PG.user, "--data-only", "-t", table, PG.database];
    return { name, client, table, url: `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}?schema=${scope}`, dump, close };
  }
  const admin = await mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, password: MARIADB.password });
  await admin.query(`CREATE DATABASE ${scope}`);
  await admin.end();
  const pool = mysql.createPool({ ...MARIADB, database: scope, connectionLimit: 8 });
  const client = sqlClientFrom(pool);
  await ensureAuditTable(client);
  const close = async () => {
    await pool.query(`DROP DATABASE ${scope}`);
    await pool.end();
  };
  const dump = ["mysqldump", "-h", MARIADB.host, "-P", String(MARIADB.port), `-u${MARIADB.user}`, "--skip-extended-insert", scope, "koper_audit"];
  return { name, client, table: "koper_audit", url: `mysql://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${scope}`, dump, close };
}
