import { AuditError } from "../errors.ts";
import { placeholders } from "./encode.ts";
import { SELECT_COLUMNS, toEntries, type AuditEntry } from "./entries.ts";
import type { ChangesPage } from "./AuditLog.ts";
import type { SqlClient } from "../capture/in-transaction.ts";

/** A page request: filters as SQL with `?` params, where the last page ended, how many. */
export interface PageRequest {
  where: string[];
  params: unknown[];
  cursor: string | null;
  limit: number;
}

/**
 * Where a page ended. PostgreSQL: between which two snapshots (`from` seen, `to` being read; text of
 * pg_snapshot) and after which (txid, seq) inside them. Elsewhere: after which seq.
 */
interface Position {
  from: string | null;
  to: string | null;
  txid: number;
  seq: number;
}

/**
 * Reads one page of audit rows after a cursor so that, across pages, every row comes exactly once
 * even while other transactions write. Rows get their seq when inserted but become visible when their
 * transaction commits, so a row with a lower seq can appear after a higher one was read:
 * - PostgreSQL reads the rows of transactions that committed between two snapshots (visible in the
 *   newer, not in the older, as PgQ does), ordered by (transaction id, seq); a long transaction elsewhere
 *   delays nothing.
 * - MariaDB/MySQL ends the page before the first row that a dirty read sees but a committed read did not
 *   (an uncommitted lower seq).
 * - SQLite has one writer at a time, so seq order is commit order.
 */
export async function readPage(client: SqlClient, table: string, request: PageRequest): Promise<ChangesPage> {
  const after = decodeCursor(request.cursor);
  if (client.dialect === "postgres") return readPostgresPage(client, table, request, after);
  const sql = `SELECT ${SELECT_COLUMNS} FROM ${table} WHERE ${[...request.where, "seq > ?"].join(" AND ")} ORDER BY seq LIMIT ${request.limit + 1}`;
  let rows = await client.query(placeholders(sql, client.dialect), [...request.params, after.seq]);
  if (client.dialect === "mysql") rows = await heldBack(client, table, rows, request, after.seq);
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  const end = last ? { ...after, seq: Number(last.seq) } : after;
  return { entries: toEntries(page), cursor: encodeCursor(end), hasMore: rows.length > request.limit };
}

async function readPostgresPage(client: SqlClient, table: string, request: PageRequest, after: Position): Promise<ChangesPage> {
  const to = after.to ?? String((await client.query("SELECT pg_current_snapshot()::text AS s"))[0]!.s);
  const where = [...request.where, "pg_visible_in_snapshot(db_txid::text::xid8, ?::pg_snapshot)", "(db_txid > ? OR (db_txid = ? AND seq > ?))"];
  const params = [...request.params, to, after.txid, after.txid, after.seq];
  if (after.from !== null) {
    where.push("db_txid >= ?", "NOT pg_visible_in_snapshot(db_txid::text::xid8, ?::pg_snapshot)");
    params.push(Number(after.from.split(":")[0]), after.from);
  }
  const sql = `SELECT ${SELECT_COLUMNS}, db_txid FROM ${table} WHERE ${where.join(" AND ")} ORDER BY db_txid, seq LIMIT ${request.limit + 1}`;
  const rows = await client.query(placeholders(sql, "postgres"), params);
  const hasMore = rows.length > request.limit;
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  // A full page continues inside the same two snapshots; a short one means `to` is read to its end.
  const end = hasMore ? { from: after.from, to, txid: Number(last!.db_txid), seq: Number(last!.seq) } : { from: to, to: null, txid: 0, seq: 0 };
  return { entries: toEntries(page), cursor: encodeCursor(end), hasMore };
}

/** The committed rows before the first seq still uncommitted (seen by a dirty read only). */
async function heldBack(client: SqlClient, table: string, rows: Record<string, unknown>[], request: PageRequest, afterSeq: number) {
  if (rows.length === 0) return rows;
  const seen = new Set(rows.map((row) => Number(row.seq)));
  const maxSeq = Math.max(...seen);
  const sql = `SELECT seq FROM ${table} WHERE ${[...request.where, "seq > ?", "seq <= ?"].join(" AND ")} ORDER BY seq`;
  const dirty = await client.transaction(async (tx) => {
    // Leave the wrapper's transaction so the next statement starts one of its own at READ UNCOMMITTED.
    await tx.query("COMMIT");
    await tx.query("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
    return tx.query(sql, [...request.params, afterSeq, maxSeq]);
  });
  const pending = dirty.map((row) => Number(row.seq)).filter((seq) => !seen.has(seq));
  if (pending.length === 0) return rows;
  const firstPending = Math.min(...pending);
  return rows.filter((row) => Number(row.seq) < firstPending);
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

function decodeCursor(cursor: string | null): Position {
  if (cursor === null) return { from: null, to: null, txid: 0, seq: 0 };
  let position: Partial<Position> | undefined;
  try {
    position = JSON.parse(Buffer.from(cursor, "base64url").toString()) as Partial<Position>;
  } catch {
    position = undefined;
  }
  const snapshot = (value: unknown) => value === null || (typeof value === "string" && /^\d+:\d+:[\d,]*$/.test(value));
  if (!position || !Number.isInteger(position.txid) || !Number.isInteger(position.seq) || !snapshot(position.from) || !snapshot(position.to)) {
    throw AuditError.invalidArgument("cursor", "not a cursor returned by changes()");
  }
  return position as Position;
}
