import type { Action } from "@koper/core";

/** A write statement as seen by `afterQuery`: what the hooks of criteria writes lack. */
export interface WriteStatement {
  action: Action;
  /** Unquoted table name, without schema. */
  table: string;
  sql: string;
  parameters: readonly unknown[];
  /** Rows the statement touched, where the driver says so. */
  affected: number | null;
  /** An INSERT … ON CONFLICT / ON DUPLICATE KEY statement: it may have updated instead. */
  upsert: boolean;
}

const IDENT = String.raw`(?:"[^"]+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w$]+)`;
const WRITE = new RegExp(String.raw`^\s*(INSERT\s+(?:OR\s+\w+\s+)?(?:IGNORE\s+)?INTO|UPDATE|DELETE\s+FROM)\s+((?:${IDENT}\.)*(${IDENT}))`, "i");
const UPSERT = /\bON\s+CONFLICT\b[\s\S]*\bDO\s+UPDATE\b|\bON\s+DUPLICATE\s+KEY\s+UPDATE\b/i;

/** Cheap test run on every statement: only writes are parsed further. */
export function looksLikeWrite(sql: string): boolean {
  const c = sql.trimStart().charCodeAt(0) | 0x20; // lower-case the first letter
  return c === 0x69 /* i */ || c === 0x75 /* u */ || c === 0x64 /* d */;
}

/** Parses an INSERT/UPDATE/DELETE statement; undefined for anything else. */
export function parseWrite(sql: string, parameters: readonly unknown[] | undefined, affected: number | null): WriteStatement | undefined {
  const match = WRITE.exec(sql);
  if (!match) return undefined;
  const verb = match[1]!.toUpperCase();
  const action: Action = verb.startsWith("INSERT") ? "insert" : verb === "UPDATE" ? "update" : "delete";
  return {
    action,
    table: unquote(match[3]!),
    sql,
    parameters: parameters ?? [],
    affected,
    upsert: action === "insert" && UPSERT.test(sql),
  };
}

/**
 * What a criteria write selected rows by: its WHERE clause as SQL, with the parameters it uses.
 * (TypeORM's hooks never see the `where` object the caller passed, only the statement.)
 */
export function criteriaOf(statement: WriteStatement | undefined): { where: string | null; parameters: unknown[] } | null {
  if (!statement) return null;
  const at = statement.sql.search(/\sWHERE\s/i);
  const where = at < 0 ? null : statement.sql.slice(at).replace(/^\s*WHERE\s+/i, "").replace(/\s+RETURNING\s[\s\S]*$/i, "").trim();
  return { where, parameters: [...statement.parameters] };
}


function unquote(identifier: string): string {
  const first = identifier[0];
  return first === '"' || first === "`" || first === "[" ? identifier.slice(1, -1) : identifier;
}
