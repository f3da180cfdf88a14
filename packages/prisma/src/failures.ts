import { classifyFailure, type DriverErrorInfo, type FailureCode } from "@koper/core";

/** What a failure event may say about a Prisma error: structured fields only, never its message. */
export interface PrismaFailure {
  /** A stand-in error whose message is built from codes and names (Prisma's own message embeds the caller's code and values). */
  error: Error;
  info: DriverErrorInfo;
  /** A statement reached the database and failed there (rather than Prisma refusing the call). */
  fromDatabase: boolean;
  /** The database reported a deadlock: on MySQL/MariaDB the whole transaction is gone. */
  deadlock: boolean;
  /** A validation error's missing or null argument, by name. */
  missing: string | undefined;
}

// Prisma's own classification, used when the driver's code says nothing Koper knows.
const PRISMA_CODES: Record<string, FailureCode> = {
  P2000: "data_error",
  P2002: "unique_violation",
  P2003: "foreign_key_violation",
  P2004: "check_violation",
  P2011: "not_null_violation",
  P2014: "foreign_key_violation",
  P2020: "data_error",
  P2025: "not_found",
  P2034: "serialization_failure",
};

// Driver adapter error kinds (`meta.driverAdapterError.cause.kind`), the same on every adapter.
const KINDS: Record<string, FailureCode> = {
  UniqueConstraintViolation: "unique_violation",
  ForeignKeyConstraintViolation: "foreign_key_violation",
  NullConstraintViolation: "not_null_violation",
  TransactionWriteConflict: "serialization_failure",
  LengthMismatch: "data_error",
  ValueOutOfRange: "data_error",
  InvalidInputValue: "data_error",
};

const SQLITE_EXTENDED: Record<string, string> = {
  "275": "SQLITE_CONSTRAINT_CHECK",
  "787": "SQLITE_CONSTRAINT_FOREIGNKEY",
  "1299": "SQLITE_CONSTRAINT_NOTNULL",
  "1555": "SQLITE_CONSTRAINT_PRIMARYKEY",
  "2067": "SQLITE_CONSTRAINT_UNIQUE",
};

const MYSQL_NAMES: Record<string, string> = {
  "1048": "ER_BAD_NULL_ERROR",
  "1062": "ER_DUP_ENTRY",
  "1213": "ER_LOCK_DEADLOCK",
  "1364": "ER_NO_DEFAULT_FOR_FIELD",
  "1406": "ER_DATA_TOO_LONG",
  "1451": "ER_ROW_IS_REFERENCED_2",
  "1452": "ER_NO_REFERENCED_ROW_2",
  "3819": "ER_CHECK_CONSTRAINT_VIOLATED",
  "4025": "ER_CONSTRAINT_FAILED",
};

interface Cause {
  originalCode?: unknown;
  kind?: unknown;
  code?: unknown;
  constraint?: { index?: unknown; fields?: unknown; foreignKey?: unknown } | undefined;
  table?: unknown;
}

/** Turns what Prisma threw into what a failure event may carry. */
export function describeFailure(thrown: unknown, model: string | undefined, operation: string, provider = ""): PrismaFailure {
  const raw = (typeof thrown === "object" && thrown !== null ? thrown : {}) as { name?: unknown; code?: unknown; meta?: Record<string, unknown>; message?: unknown };
  const name = typeof raw.name === "string" ? raw.name : "Error";
  const prismaCode = typeof raw.code === "string" ? raw.code : undefined;
  const cause = driverCause(raw.meta);
  const info: DriverErrorInfo = {};
  const driverCode = cause?.originalCode ?? cause?.code;
  if (typeof driverCode === "string" || typeof driverCode === "number") info.code = driverCode;
  // libSQL gives SQLite's extended result code as a number; Koper's classifier knows the names.
  if (provider === "sqlite" && info.code !== undefined) info.code = SQLITE_EXTENDED[String(info.code)] ?? info.code;
  // The MariaDB adapter gives the error number; mysql2 (TypeORM, MikroORM) the name: keep both.
  const mysqlName = provider === "mysql" && info.code !== undefined ? MYSQL_NAMES[String(info.code)] : undefined;
  if (mysqlName) [info.errno, info.code] = [info.code, mysqlName];
  const constraint = constraintName(cause?.constraint);
  if (constraint) info.constraint = constraint;
  if (typeof cause?.table === "string") info.table = cause.table;
  let hint = classifyFailure(info) === "unknown" ? hintOf(prismaCode, cause) : undefined;
  let detail = "";
  let missing: string | undefined;
  if (name === "PrismaClientValidationError") {
    // Prisma refused the call before any SQL, as MikroORM's validation does: validation_error.
    missing = missingArgument(typeof raw.message === "string" ? raw.message : "");
    hint = "validation_error";
    detail = missing ? `: required argument \`${missing}\` is missing or null` : ": invalid arguments";
  }
  if (hint) info.code_hint = hint;
  if (info.code === undefined && prismaCode) info.code = prismaCode;
  const message = `${prismaCode ?? name} in ${model ?? "$raw"}.${operation}${detail}${cause ? describeCause(cause, info) : ""}`;
  const error = Object.assign(new Error(message), { name });
  const deadlock = isDeadlock(cause);
  return { error, info, fromDatabase: cause !== undefined || name === "PrismaClientUnknownRequestError", deadlock, missing };
}

function driverCause(meta: Record<string, unknown> | undefined): Cause | undefined {
  const adapterError = meta?.driverAdapterError as { cause?: unknown } | undefined;
  const cause = adapterError?.cause;
  return typeof cause === "object" && cause !== null ? (cause as Cause) : undefined;
}

function hintOf(prismaCode: string | undefined, cause: Cause | undefined): FailureCode | undefined {
  const byKind = typeof cause?.kind === "string" ? KINDS[cause.kind] : undefined;
  return byKind ?? (prismaCode ? PRISMA_CODES[prismaCode] : undefined);
}

function constraintName(constraint: Cause["constraint"]): string | undefined {
  if (!constraint) return undefined;
  if (typeof constraint.index === "string") return constraint.index;
  if (Array.isArray(constraint.fields)) return constraint.fields.map(String).join(", ");
  return undefined;
}

// Names and codes only: the driver's own message and detail may quote the row's values.
function describeCause(cause: Cause, info: DriverErrorInfo): string {
  const parts = [typeof cause.kind === "string" && cause.kind !== "postgres" && cause.kind !== "mysql" ? cause.kind : undefined];
  if (info.code !== undefined) parts.push(`code ${String(info.code)}`);
  if (info.table) parts.push(`table ${info.table}`);
  if (info.constraint) parts.push(`constraint ${info.constraint}`);
  const text = parts.filter(Boolean).join(", ");
  return text ? ` (${text})` : "";
}

// Prisma's validation message names the argument in backticks; only the name is kept.
function missingArgument(message: string): string | undefined {
  const match = /Argument `(\w+)` (?:is missing|must not be null)/.exec(message);
  return match?.[1];
}

function isDeadlock(cause: Cause | undefined): boolean {
  const code = String(cause?.originalCode ?? cause?.code ?? cause?.kind ?? "");
  return code === "1213" || code === "40P01" || code === "ER_LOCK_DEADLOCK";
}
