import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Socket } from "node:net";
import { DatabaseSync } from "node:sqlite";
import mysql from "mysql2/promise";
import pg from "pg";
import { ensureAuditTable, sqlClientFrom, type SqlClient } from "@koper/core";

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

const HOST = "127.0.0.1";

/** Why `name` is skipped (unreachable, outside CI), or undefined to run; unreachable under CI=true fails. */
export async function skipReason(name: AuditDb["name"]): Promise<string | undefined> {
  if (name === "sqlite") return undefined;
  const port = name === "postgres" ? 5432 : 3306;
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1500, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, HOST, () => done(true));
  });
  if (reachable) return undefined;
  const reason = `${name} is not reachable on ${HOST}:${port}`;
  if (process.env.CI === "true") throw new Error(`${reason}, and CI=true: a missing server is a failure, not a skip.`);
  console.warn(`\n⚠️  SKIPPING the audit ${name} tests: ${reason}.\n`);
  return reason;
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
    const pool = new pg.Pool({ host: HOST, user: "postgres", database: "test", max: 8 });
    await pool.query(`CREATE SCHEMA ${scope}`);
    const client = sqlClientFrom(pool);
    const table = `${scope}.koper_audit`;
    await ensureAuditTable(client, { table });
    const close = async () => {
      await pool.query(`DROP SCHEMA ${scope} CASCADE`);
      await pool.end();
    };
    const dump = ["pg_dump", "-h", HOST, "-U", "postgres", "--data-only", "-t", table, "test"];
    return { name, client, table, url: `postgres://postgres@${HOST}:5432/test?schema=${scope}`, dump, close };
  }
  const admin = await mysql.createConnection({ host: HOST, user: "root" });
  await admin.query(`CREATE DATABASE ${scope}`);
  await admin.end();
  const pool = mysql.createPool({ host: HOST, user: "root", database: scope, connectionLimit: 8 });
  const client = sqlClientFrom(pool);
  await ensureAuditTable(client);
  const close = async () => {
    await pool.query(`DROP DATABASE ${scope}`);
    await pool.end();
  };
  const dump = ["mysqldump", "-h", HOST, "-uroot", "--skip-extended-insert", scope, "koper_audit"];
  return { name, client, table: "koper_audit", url: `mysql://root@${HOST}:3306/${scope}`, dump, close };
}
