import type { Action } from "@koper/core";

/** A raw write statement: what `$executeRaw`/`$executeRawUnsafe` ran. */
export interface RawWrite {
  action: Action;
  /** Unquoted table name, without schema. */
  table: string;
  sql: string;
  parameters: unknown[];
}

const IDENT = String.raw`(?:"[^"]+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w$]+)`;
const WRITE = new RegExp(String.raw`^\s*(?:WITH\b[\s\S]*?\)\s*)?(INSERT\s+(?:OR\s+\w+\s+)?(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+((?:${IDENT}\.)*(${IDENT}))`, "i");

/** The SQL and parameters of one `$executeRaw`/`$executeRawUnsafe` call, built once per call. */
export interface RawStatement {
  sql: string;
  parameters: unknown[];
  /** A tagged template's strings, when the SQL was joined from them (with the dialect's placeholders). */
  strings?: readonly unknown[];
}

/**
 * The statement of a `$executeRaw` call. The query extension gets a tagged template as
 * `{ strings, values }` (or a `Prisma.sql` object with `sql`/`values`), and `$executeRawUnsafe`
 * its arguments as `[sql, ...values]`. Undefined when the arguments carry no SQL.
 */
export function rawStatementOf(args: unknown, placeholder: (index: number) => string): RawStatement | undefined {
  if (Array.isArray(args)) {
    return typeof args[0] === "string" ? { sql: args[0], parameters: args.slice(1) } : rawStatementOf(args[0], placeholder);
  }
  if (typeof args !== "object" || args === null) return undefined;
  const raw = args as { strings?: unknown; values?: unknown; sql?: unknown };
  const values = Array.isArray(raw.values) ? [...raw.values] : [];
  if (Array.isArray(raw.strings)) return { sql: joined(raw.strings, placeholder), parameters: values, strings: raw.strings };
  return typeof raw.sql === "string" ? { sql: raw.sql, parameters: values } : undefined;
}

/** The write a statement makes: undefined for anything that is not an INSERT/UPDATE/DELETE. */
export function rawWriteOf(statement: RawStatement): RawWrite | undefined {
  const match = WRITE.exec(statement.sql);
  if (!match) return undefined;
  const verb = match[1]!.toUpperCase();
  const action: Action = verb.startsWith("INSERT") || verb.startsWith("REPLACE") ? "insert" : verb === "UPDATE" ? "update" : "delete";
  return { action, table: unquote(match[3]!), sql: statement.sql, parameters: statement.parameters };
}

/** `rawWriteOf(rawStatementOf(args, placeholder))`. */
export function parseRawWrite(args: unknown, placeholder: (index: number) => string): RawWrite | undefined {
  const statement = rawStatementOf(args, placeholder);
  return statement && rawWriteOf(statement);
}

/** A savepoint statement an application sent raw (as `@nestjs-cls/transactional`'s Prisma adapter does for `Propagation.Nested`). */
export interface RawSavepoint {
  kind: "save" | "release" | "rollback";
  /** The savepoint's name, unquoted. */
  name: string;
}

const SAVEPOINT = new RegExp(
  String.raw`^\s*(SAVEPOINT|SAVE\s+TRAN(?:SACTION)?|RELEASE(?:\s+SAVEPOINT)?|ROLLBACK(?:\s+WORK)?\s+TO(?:\s+SAVEPOINT)?|ROLLBACK\s+TRAN(?:SACTION)?)\s+(${IDENT})\s*;?\s*$`,
  "i",
);

/**
 * The savepoint a statement sets, releases or rolls back to (`SAVEPOINT x`, `RELEASE SAVEPOINT x`,
 * `ROLLBACK TO SAVEPOINT x`, SQL Server's `SAVE TRANSACTION x` and `ROLLBACK TRANSACTION x`);
 * undefined for any other statement. A tagged template's values stand as `?` here, whatever the
 * dialect's placeholder: a value is never a savepoint's name.
 */
export function rawSavepointOf(statement: RawStatement): RawSavepoint | undefined {
  let match = SAVEPOINT.exec(statement.sql);
  if (match && statement.strings && statement.strings.length > 1) match = SAVEPOINT.exec(joined(statement.strings, () => "?"));
  if (!match) return undefined;
  const verb = match[1]!.toUpperCase();
  const kind = verb.startsWith("RELEASE") ? "release" : verb.startsWith("ROLLBACK") ? "rollback" : "save";
  return { kind, name: unquote(match[2]!) };
}

function joined(strings: readonly unknown[], placeholder: (index: number) => string): string {
  return strings.reduce<string>((text, part, i) => (i === 0 ? String(part) : `${text}${placeholder(i)}${String(part)}`), "");
}

function unquote(identifier: string): string {
  const first = identifier[0];
  return first === '"' || first === "`" || first === "[" ? identifier.slice(1, -1) : identifier;
}
