// SqlClients on plain drivers (node-postgres, mysql2): what a user without an ORM adapter (or a
// relay-only process) hands to `new Koper({ outbox: { client } })`.
import { listenOnPool, type SqlClient, type TxExecutor } from "@koper/core";
import mysql from "mysql2/promise";
import pg from "pg";
import { SERVERS } from "./servers.ts";

/** A SqlClient on a node-postgres pool (`options` e.g. `-c search_path=...`), with LISTEN. */
export function pgSqlClient(config: pg.PoolConfig): SqlClient & { end(): Promise<void> } {
  const pool = new pg.Pool({ ...SERVERS.postgres, max: 4, ...config });
  const on = (client: pg.Pool | pg.PoolClient): TxExecutor => ({
    dialect: "postgres",
    query: async (sql, params) => (await client.query(sql, params as unknown[] | undefined)).rows as Record<string, unknown>[],
  });
  return {
    ...on(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn(on(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    listen: (channel, onNotify, onError) => listenOnPool(pool, channel, onNotify, { onError }),
    end: () => pool.end(),
  };
}

/** A SqlClient on a mysql2 pool (MariaDB). */
export function mysqlSqlClient(database: string): SqlClient & { end(): Promise<void> } {
  const pool = mysql.createPool({ ...SERVERS.mariadb, database, connectionLimit: 4 });
  const on = (client: mysql.Pool | mysql.PoolConnection): TxExecutor => ({
    dialect: "mysql",
    query: async (sql, params) => {
      const [rows] = await client.query(sql, params as unknown[] | undefined);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
  });
  return {
    ...on(pool),
    async transaction(fn) {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        const result = await fn(on(connection));
        await connection.commit();
        return result;
      } catch (error) {
        await connection.rollback().catch(() => {});
        throw error;
      } finally {
        connection.release();
      }
    },
    end: () => pool.end(),
  };
}
