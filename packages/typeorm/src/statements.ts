import type { Action, SqlCriteriaDraft } from "@koper/core";

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
  /** An INSERT that skips conflicting rows (`orIgnore()`: IGNORE, OR IGNORE, ON CONFLICT DO NOTHING). */
  ignore: boolean;
}

const IDENT = String.raw`(?:"[^"]+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w$]+)`;
const WRITE = new RegExp(String.raw`^\s*(INSERT\s+(?:OR\s+\w+\s+)?(?:IGNORE\s+)?INTO|UPDATE|DELETE\s+FROM)\s+((?:${IDENT}\.)*(${IDENT}))`, "i");
const UPSERT = /\bON\s+CONFLICT\b[\s\S]*\bDO\s+UPDATE\b|\bON\s+DUPLICATE\s+KEY\s+UPDATE\b/i;
const IGNORE = /^\s*INSERT\s+(?:OR\s+)?IGNORE\b|\bON\s+CONFLICT\b[^;]*\bDO\s+NOTHING\b/i;

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
    ignore: action === "insert" && IGNORE.test(sql),
  };
}

/**
 * What a criteria write selected rows by, from its SQL: the WHERE clause and only the parameters
 * it binds (a SET value is `bulk.set`'s business), renumbered from `$1` on PostgreSQL. `columns`
 * names, per parameter, the property it is compared with where the clause says so plainly
 * (`"col" = $1`, `col IN (?, ?)`, `col BETWEEN ? AND ?`); the capture masks the others on an
 * entity with redaction rules. `columnName` maps a database column to its event field.
 */
export function criteriaOf(statement: WriteStatement | undefined, columnName: (column: string) => string | undefined): SqlCriteriaDraft | null {
  if (!statement) return null;
  const at = findWhere(statement.sql);
  if (at < 0) return null;
  const clause = statement.sql.slice(at).replace(/^\s*WHERE\s+/i, "").replace(/\s+RETURNING\s[\s\S]*$/i, "").trim();
  const parameters: unknown[] = [];
  const columns: (string | undefined)[] = [];
  let before = countPlaceholders(statement.sql.slice(0, at)); // `?` style: SET parameters come first
  const sql = replacePlaceholders(clause, (placeholder, offset) => {
    const index = placeholder === "?" ? before++ : Number(placeholder.slice(1)) - 1;
    parameters.push(statement.parameters[index]);
    const column = columnBefore(clause.slice(0, offset));
    columns.push(column === undefined ? undefined : columnName(column));
    return placeholder === "?" ? "?" : `$${parameters.length}`;
  });
  return { kind: "sql", sql, parameters, columns };
}

const PLACEHOLDER = /'(?:[^']|'')*'|\$\d+|\?/g;

function replacePlaceholders(sql: string, replace: (placeholder: string, offset: number) => string): string {
  return sql.replace(PLACEHOLDER, (match, offset: number) => (match.startsWith("'") ? match : replace(match, offset)));
}

function countPlaceholders(sql: string): number {
  let count = 0;
  replacePlaceholders(sql, (placeholder) => {
    if (placeholder === "?") count++;
    return placeholder;
  });
  return count;
}

function findWhere(sql: string): number {
  const masked = sql.replace(/'(?:[^']|'')*'/g, (literal) => " ".repeat(literal.length));
  return masked.search(/\sWHERE\s/i);
}

const COLUMN = String.raw`(?:"([^"]+)"|\x60([^\x60]+)\x60|\[([^\]]+)\]|([A-Za-z_][\w$]*))`;
const P = String.raw`(?:\$\d+|\?)`;
const COMPARED = new RegExp(
  String.raw`${COLUMN}\s*(?:=|<>|!=|<=|>=|<|>|(?:NOT\s+)?I?LIKE|(?:NOT\s+)?IN\s*\((?:\s*${P}\s*,)*|(?:NOT\s+)?BETWEEN(?:\s+${P}\s+AND)?)\s*\(?\s*$`,
  "i",
);

// The column a placeholder is compared with, from the text just before it.
function columnBefore(text: string): string | undefined {
  const match = COMPARED.exec(text.slice(-300));
  return match ? (match[1] ?? match[2] ?? match[3] ?? match[4]) : undefined;
}

function unquote(identifier: string): string {
  const first = identifier[0];
  return first === '"' || first === "`" || first === "[" ? identifier.slice(1, -1) : identifier;
}

/**
 * The columns an UPDATE's SET clause assigns, unquoted, in order: what the statement really
 * changed, auto-set columns included (`"updatedAt" = CURRENT_TIMESTAMP`, `"version" = "version" + 1`).
 */
export function setColumns(sql: string): string[] {
  const masked = sql.replace(/'(?:[^']|'')*'/g, (literal) => " ".repeat(literal.length));
  const start = masked.search(/\sSET\s/i);
  if (start < 0) return [];
  const whereAt = findWhere(sql);
  const clause = masked.slice(start + 5, whereAt < 0 ? undefined : whereAt);
  const columns: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i <= clause.length; i++) {
    const c = clause[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (i === clause.length || (c === "," && depth === 0)) {
      const target = /^\s*((?:"[^"]+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w$]+)\.)?("[^"]+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w$]+)\s*=/.exec(clause.slice(from, i));
      if (target) columns.push(unquote(target[2]!));
      from = i + 1;
    }
  }
  return columns;
}

/** A successful write statement as the subscriber keeps it; `update` caches what `isUpdateOf` parsed. */
export interface SeenWrite {
  sql: string;
  parameters: readonly unknown[] | undefined;
  update?: { table: string; bound: Set<unknown> } | null;
}

/**
 * True for a successful UPDATE of `table` that bound every value of `key` (or, as TypeORM's sql.js
 * driver does with numbers, wrote it into its WHERE clause): the statement of that row's update.
 */
export function isUpdateOf(write: SeenWrite, table: string, key: Record<string, unknown>): boolean {
  if (write.update === undefined) {
    // Parsed once: a large cascade save asks every statement of its operation, once per row.
    const statement = parseWrite(write.sql, write.parameters, null);
    write.update = statement?.action === "update" ? { table: statement.table, bound: new Set([...statement.parameters, ...whereLiterals(write.sql)].map(comparable)) } : null;
  }
  const update = write.update;
  return update !== null && update.table === table && Object.values(key).every((value) => update.bound.has(comparable(value)));
}

// The number and string literals a WHERE clause compares with (`"id" = 1`, `"code" IN ('a', 'b')`).
function whereLiterals(sql: string): unknown[] {
  const at = findWhere(sql);
  if (at < 0) return [];
  const literals: unknown[] = [];
  for (const [, text] of sql.slice(at).matchAll(/(?:=|\bIN\s*\(|,)\s*(-?\d+(?:\.\d+)?(?![\w.])|'(?:[^']|'')*')/gi)) {
    literals.push(text!.startsWith("'") ? text!.slice(1, -1).replace(/''/g, "'") : text);
  }
  return literals;
}

function comparable(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  return typeof value === "number" || typeof value === "bigint" ? String(value) : value;
}

/**
 * The rows an INSERT carried, by column: each placeholder's bound value, and number and string
 * literals (sql.js gets some numbers written into the SQL); DEFAULT and expressions are skipped.
 * A refused insert's attempt then shows what the entity lacked: a key TypeORM generated itself
 * (a uuid, on MySQL/MariaDB and SQLite) goes only into the statement.
 */
export function insertedRows(statement: WriteStatement): Record<string, unknown>[] {
  const { sql } = statement;
  const masked = sql.replace(/'(?:[^']|'')*'/g, (literal) => "'" + " ".repeat(literal.length - 2) + "'");
  const head = /^\s*INSERT\b[^(]*\(([^)]*)\)\s*VALUES\s*/i.exec(masked);
  if (!head) return [];
  const columns = head[1]!.split(",").map((column) => unquote(column.trim()));
  const rows: Record<string, unknown>[] = [];
  let next = 0; // `?` placeholders bind in order
  for (const [from, to] of topLevelGroups(masked, head[0].length)) {
    const row: Record<string, unknown> = {};
    splitTopLevel(masked, from, to).forEach(([a, b], at) => {
      const item = sql.slice(a, b).trim();
      const column = columns[at];
      const placeholder = /^(\$\d+|\?)$/.exec(item)?.[1];
      if (placeholder) {
        const index = placeholder === "?" ? next++ : Number(placeholder.slice(1)) - 1;
        if (column !== undefined) row[column] = statement.parameters[index];
      } else if (column !== undefined && /^-?\d+(\.\d+)?$/.test(item)) row[column] = Number(item);
      else if (column !== undefined && /^'(?:[^']|'')*'$/.test(item)) row[column] = item.slice(1, -1).replace(/''/g, "'");
      else next += (masked.slice(a, b).match(/\?/g) ?? []).length; // an expression's own `?`s still bind in order
    });
    rows.push(row);
  }
  return rows;
}

// The [from, to) ranges of `text[from..to)` split at commas of depth 0.
function splitTopLevel(text: string, from: number, to: number): [number, number][] {
  const items: [number, number][] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < to; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")") depth--;
    else if (text[i] === "," && depth === 0) {
      items.push([start, i]);
      start = i + 1;
    }
  }
  items.push([start, to]);
  return items;
}

// The inner ranges of the parenthesized groups at depth 0 of `(…), (…) RETURNING …`, from `from`.
function topLevelGroups(text: string, from: number): [number, number][] {
  const groups: [number, number][] = [];
  let depth = 0;
  let start = -1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === "(" && depth++ === 0) start = i + 1;
    else if (text[i] === ")" && --depth === 0) groups.push([start, i]);
    else if (depth === 0 && /[A-Za-z]/.test(text[i]!)) break; // RETURNING, ON CONFLICT …
  }
  return groups;
}

/** A statement's parameters as a list, whatever form the driver gave them in. */
export function paramsOf(parameters: unknown): unknown[] | undefined {
  return Array.isArray(parameters) ? parameters : parameters && typeof parameters === "object" ? Object.values(parameters) : undefined;
}

/** The rows a write statement touched, from the driver's raw result (null where it does not say). */
export function affectedOf(raw: unknown): number | null {
  if (typeof raw !== "object" || raw === null) return null;
  // mysql2 hands the rows of an INSERT … RETURNING (MariaDB), one per row written.
  if (Array.isArray(raw)) return raw.length;
  const result = raw as { rowCount?: unknown; affectedRows?: unknown };
  const value = result.rowCount ?? result.affectedRows;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : null;
}
