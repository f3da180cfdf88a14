import type { DriverErrorInfo } from "@koper/core";

// node:sqlite gives SQLite's extended result code as a number (`errcode`); core knows the names.
const SQLITE_CODES: Record<number, string> = {
  2067: "SQLITE_CONSTRAINT_UNIQUE",
  1555: "SQLITE_CONSTRAINT_PRIMARYKEY",
  787: "SQLITE_CONSTRAINT_FOREIGNKEY",
  1299: "SQLITE_CONSTRAINT_NOTNULL",
  275: "SQLITE_CONSTRAINT_CHECK",
};

/**
 * What Koper's classifier needs from a MikroORM `DriverException` (which copies the driver
 * error's own fields: node-pg's SQLSTATE `code`, mysql2's `code`/`errno`/`sqlState`, node:sqlite's
 * `errcode`) or from the raw driver error a QueryBuilder write throws.
 */
export function driverInfo(error: unknown, table: string | undefined): DriverErrorInfo {
  const info: DriverErrorInfo = {};
  if (typeof error !== "object" || error === null) return info;
  const raw = error as Record<string, unknown>;
  const sqlite = typeof raw.errcode === "number" ? SQLITE_CODES[raw.errcode] : undefined;
  const code = sqlite ?? raw.code ?? raw.sqlState;
  if (typeof code === "string" || typeof code === "number") info.code = code;
  if (typeof raw.errno === "string" || typeof raw.errno === "number") info.errno = raw.errno;
  if (typeof raw.constraint === "string") info.constraint = raw.constraint;
  if (typeof raw.detail === "string") info.detail = raw.detail;
  const errorTable = typeof raw.table === "string" ? raw.table : table;
  if (errorTable) info.table = errorTable;
  return info;
}

/** MikroORM's own validation, before any SQL: not a database error, and its message prints the entity. */
export function isValidationError(error: unknown): error is Error & { getEntity(): unknown } {
  return error instanceof Error && error.name === "ValidationError" && typeof (error as { getEntity?: unknown }).getEntity === "function";
}

/** MikroORM's optimistic lock check: the versioned UPDATE matched no row (another writer changed it first). */
export function isOptimisticLockError(error: unknown): error is Error & { getEntity(): unknown } {
  return error instanceof Error && error.name === "OptimisticLockError" && typeof (error as { getEntity?: unknown }).getEntity === "function";
}

/**
 * The first line of a validation message with its values blanked: every quoted text but
 * `undefined`/`null` (single- or double-quoted: `inspect` double-quotes a text holding an
 * apostrophe) and every number, date or other token that starts with a digit outside a name.
 * MikroORM prints the entity, the where or the value it could not convert in it, and a redacted
 * field must not leave the process through an error message.
 */
export function safeValidationMessage(message: string): string {
  const first = message.split("\n")[0] ?? "";
  return first
    .replace(/'([^']*)'|"([^"]*)"/g, (quoted, single?: string, double?: string) => (["undefined", "null"].includes(single ?? double ?? "") ? quoted : "'[value]'"))
    .replace(/(?<![\w$.])[-+]?\d[\w.:+-]*/g, "[value]");
}

/**
 * A write MikroORM refused before any SQL (no statement reached the connection, and the error
 * carries no driver code: an unknown property, an operator it does not allow, a value its type
 * cannot convert): the failure's error and info, code `validation_error` as for a flush's
 * `ValidationError`, its name kept and its message's values blanked (a flush's by `safeValidationMessage`,
 * a query's cut at its first value by `refusedQueryMessage`).
 */
export function refusal(error: unknown, table: string | undefined, shape: "flush" | "query" = "query"): { error: Error; info: DriverErrorInfo } {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  const safe = Object.assign(new Error(shape === "flush" ? safeValidationMessage(message) : refusedQueryMessage(message)), { name });
  return { error: safe, info: table ? { code_hint: "validation_error", table } : { code_hint: "validation_error" } };
}

/**
 * The first line of a refused query's message up to the first value it prints: MikroORM prints the
 * condition or the value it could not convert with `util.inspect` (`{ token: { $bogus: … } }`,
 * quoted in ', " or ` as the text needs, a Buffer as `<Buffer …>`), which no blanking of quoted texts
 * can be sure to catch. Names it puts in backticks (`$all`) are kept. What it says before that (`Invalid query condition:`, `Trying to query by
 * not existing property Author.foo`) names the problem without a value; numbers in it are blanked too.
 */
export function refusedQueryMessage(message: string): string {
  const first = message.split("\n")[0] ?? "";
  // A name in backticks (`$all`, `Author.email`) is MikroORM's own text; inspect puts a value in
  // backticks only when it holds both quote kinds, so a backticked value is never a bare name.
  const names = first.replace(/`\$?[A-Za-z_][\w.$]*`/g, (name) => "_".repeat(name.length));
  const at = names.search(/[{[<(`'"]/);
  const head = at < 0 ? first : `${first.slice(0, at).trimEnd()} …`;
  return head.replace(/(?<![\w$.])[-+]?\d[\w.:+-]*/g, "[value]");
}
