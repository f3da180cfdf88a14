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
  return blankNumbers(first.replace(/'([^']*)'|"([^"]*)"/g, (quoted, single?: string, double?: string) => (["undefined", "null"].includes(single ?? double ?? "") ? quoted : "'[value]'")));
}

// Every number, date or other token that starts with a digit outside a name.
function blankNumbers(text: string): string {
  return text.replace(/(?<![\w$.])[-+]?\d[\w.:+-]*/g, "[value]");
}

/**
 * A write that failed before any SQL (no statement reached the connection, and the error carries
 * no driver code): the failure's error and info. Refused by MikroORM itself (see `refusedByMikroOrm`:
 * an unknown property, an operator it does not allow, a value its type cannot convert), code
 * `validation_error` as for a flush's `ValidationError`; thrown by the application's own code on
 * the way (a hook, a custom type), `unknown`, as core gives any error that is not the database's.
 * Either way its name is kept and its message's values blanked (a flush's by `safeValidationMessage`,
 * a query's cut at its first value by `refusedQueryMessage`): an application's message may print a
 * redacted value as freely as MikroORM's does.
 */
export function refusal(error: unknown, table: string | undefined, shape: "flush" | "query" = "query"): { error: Error; info: DriverErrorInfo } {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  const safe = Object.assign(new Error(shape === "flush" ? safeValidationMessage(message) : refusedQueryMessage(message)), { name });
  const code_hint = shape === "flush" || refusedByMikroOrm(error) ? "validation_error" : "unknown";
  return { error: safe, info: table ? { code_hint, table } : { code_hint } };
}

// MikroORM's ValidationError and its kinds that can refuse a write.
const REFUSALS = new Set(["ValidationError", "MetadataError", "CursorError"]);
// A stack frame in one of MikroORM's packages (npm, pnpm's `.pnpm/@mikro-orm+core@…/node_modules/@mikro-orm/core`, Yarn's cache).
const MIKRO_ORM_FRAME = /[\\/]@mikro-orm[\\/]/;
// Frames of no file: a built-in MikroORM called (`JSON.stringify`), Node's own.
const NO_FILE_FRAME = /\(<anonymous>\)$|\(node:|^\s*at node:|^\s*at <anonymous>/;

/**
 * Whether MikroORM itself threw `error`: one of its ValidationErrors, or an error whose first frame
 * with a file is in a MikroORM package (its query building throws plain `Error`s: `$all` on a
 * scalar, a where by an unknown property). A `DriverException` MikroORM wraps around whatever its
 * driver call threw appends the wrapped error's frames after a blank line: where that one was thrown.
 * An error of the application's code (a hook, a custom type's conversion) starts in that code.
 */
export function refusedByMikroOrm(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (REFUSALS.has(error.name) && typeof (error as { getEntity?: unknown }).getEntity === "function") return true;
  const stack = typeof error.stack === "string" ? error.stack : "";
  const at = error.message ? stack.indexOf(error.message) : -1;
  let frames = at < 0 ? stack : stack.slice(at + error.message.length);
  if (error.name === "DriverException" && frames.includes("\n\n")) frames = frames.slice(frames.lastIndexOf("\n\n"));
  const first = frames.split("\n").find((line) => /^\s*at\s/.test(line) && !NO_FILE_FRAME.test(line));
  return first !== undefined && MIKRO_ORM_FRAME.test(first);
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
  return blankNumbers(head);
}
