import type { EventError } from "../envelope/DataEvent.ts";

/** The normalized failure codes of a write, the same whatever the ORM or database. */
export type FailureCode =
  | "unique_violation"
  | "foreign_key_violation"
  | "not_null_violation"
  | "check_violation"
  | "not_found"
  | "serialization_failure"
  | "deadlock"
  | "data_error"
  /** The ORM refused the write before sending any SQL (e.g. MikroORM: a required property is missing). */
  | "validation_error"
  /**
   * Not a database error: the write's statement ran, then the ORM's own code (or a hook it runs)
   * threw, so the call failed. What the statement changed stands unless its transaction rolls back.
   */
  | "orm_error"
  | "unknown";

/** What an adapter digs out of its ORM's error: the driver's code and whatever else it names. */
export interface DriverErrorInfo {
  /** SQLSTATE (PostgreSQL, MariaDB `sqlState`), MySQL error name or number, SQLite extended code… */
  code?: string | number | undefined;
  /** A second code the driver gives (MySQL errno next to its name). */
  errno?: string | number | undefined;
  constraint?: string | undefined;
  table?: string | undefined;
  detail?: string | undefined;
  /** Set by the adapter when the ORM already classified the error (e.g. Prisma P2025 → not_found). */
  code_hint?: FailureCode | undefined;
}

// SQLSTATE classes used by PostgreSQL and, as `sqlState`, by MySQL/MariaDB.
const SQLSTATE: Record<string, FailureCode> = {
  "23505": "unique_violation",
  "23503": "foreign_key_violation",
  "23502": "not_null_violation",
  "23514": "check_violation",
  "40001": "serialization_failure",
  "40P01": "deadlock",
  "23000": "unique_violation",
  "22001": "data_error",
  "22003": "data_error",
  "22P02": "data_error",
};

// MySQL / MariaDB error names and numbers (mysql2 gives both as `code` and `errno`).
const MYSQL: Record<string, FailureCode> = {
  ER_DUP_ENTRY: "unique_violation",
  "1062": "unique_violation",
  ER_NO_REFERENCED_ROW_2: "foreign_key_violation",
  "1452": "foreign_key_violation",
  ER_ROW_IS_REFERENCED_2: "foreign_key_violation",
  "1451": "foreign_key_violation",
  ER_BAD_NULL_ERROR: "not_null_violation",
  "1048": "not_null_violation",
  ER_NO_DEFAULT_FOR_FIELD: "not_null_violation",
  "1364": "not_null_violation",
  ER_CHECK_CONSTRAINT_VIOLATED: "check_violation",
  "3819": "check_violation",
  "4025": "check_violation",
  ER_CONSTRAINT_FAILED: "check_violation",
  ER_LOCK_DEADLOCK: "deadlock",
  "1213": "deadlock",
  ER_DATA_TOO_LONG: "data_error",
  "1406": "data_error",
};

/**
 * MariaDB's own error numbers that mysql2 names wrongly: it names a number by MySQL's table, where
 * MariaDB's 4025 (ER_CONSTRAINT_FAILED, a CHECK violation, SQLSTATE 23000) is
 * ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE, a MySQL DDL error that no INSERT/UPDATE/DELETE raises.
 * By number, the name MariaDB gives (the `mariadb` connector's, Prisma's MariaDB adapter's).
 */
const MARIADB_NAMES: Record<string, string> = {
  "4025": "ER_CONSTRAINT_FAILED",
};

// MariaDB's message of a CHECK violation: CONSTRAINT `chk_qty` failed for `db`.`orders`.
const MARIADB_CHECK = /^CONSTRAINT `((?:[^`]|``)+)` failed for (?:`(?:[^`]|``)+`\.)?`((?:[^`]|``)+)`/;

// SQLite extended result codes, by name.
const SQLITE: Record<string, FailureCode> = {
  SQLITE_CONSTRAINT_UNIQUE: "unique_violation",
  SQLITE_CONSTRAINT_PRIMARYKEY: "unique_violation",
  SQLITE_CONSTRAINT_FOREIGNKEY: "foreign_key_violation",
  SQLITE_CONSTRAINT_NOTNULL: "not_null_violation",
  SQLITE_CONSTRAINT_CHECK: "check_violation",
};

// sql.js reports only a message; these are SQLite's own message prefixes.
const SQLITE_MESSAGES: [RegExp, FailureCode][] = [
  [/UNIQUE constraint failed/i, "unique_violation"],
  [/FOREIGN KEY constraint failed/i, "foreign_key_violation"],
  [/NOT NULL constraint failed/i, "not_null_violation"],
  [/CHECK constraint failed/i, "check_violation"],
];

/**
 * The driver's code as `error.original.code` keeps it: its `code` (else its error number), except
 * that a MariaDB error number mysql2 misnames gets MariaDB's own name (see MARIADB_NAMES).
 */
function driverCode(info: DriverErrorInfo): string | undefined {
  const errno = info.errno ?? (typeof info.code === "number" || /^\d+$/.test(info.code ?? "") ? info.code : undefined);
  const mariadb = errno === undefined ? undefined : MARIADB_NAMES[String(errno)];
  if (mariadb) return mariadb;
  const code = info.code ?? info.errno;
  return code === undefined ? undefined : String(code);
}

/** Maps a driver's error to Koper's failure code. */
export function classifyFailure(info: DriverErrorInfo, message = ""): FailureCode {
  if (info.code_hint) return info.code_hint;
  // The corrected name first: a MariaDB CHECK violation's SQLSTATE (23000) is also a duplicate key's.
  for (const raw of [driverCode(info), info.code, info.errno]) {
    if (raw === undefined) continue;
    const code = String(raw);
    const found = SQLSTATE[code] ?? MYSQL[code] ?? SQLITE[code];
    if (found) return found;
  }
  for (const [pattern, code] of SQLITE_MESSAGES) if (pattern.test(message)) return code;
  return "unknown";
}

/** The failure shape carried in `event.error`, from any thrown value and what the adapter extracted. */
export function toEventError(error: unknown, info: DriverErrorInfo = {}): EventError {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : "Error";
  const original: NonNullable<EventError["original"]> = {};
  const code = driverCode(info);
  if (code !== undefined) original.code = code;
  // MariaDB names the CHECK constraint (and its table) only in its message.
  const check = info.constraint || code !== MARIADB_NAMES["4025"] ? undefined : MARIADB_CHECK.exec(message);
  const constraint = info.constraint ?? unquote(check?.[1]);
  const table = info.table ?? unquote(check?.[2]);
  if (constraint) original.constraint = constraint;
  if (table) original.table = table;
  if (info.detail) original.detail = info.detail;
  const out: EventError = { code: classifyFailure(info, message), message, name };
  if (Object.keys(original).length > 0) out.original = original;
  return out;
}

function unquote(identifier: string | undefined): string | undefined {
  return identifier?.replace(/``/g, "`");
}
