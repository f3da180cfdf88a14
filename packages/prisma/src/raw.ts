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

/**
 * The statement of a `$executeRaw` call. The query extension gets a tagged template as
 * `{ strings, values }` (or a `Prisma.sql` object with `sql`/`values`), and `$executeRawUnsafe`
 * its arguments as `[sql, ...values]`. Undefined for anything that is not an INSERT/UPDATE/DELETE.
 */
export function parseRawWrite(args: unknown, placeholder: (index: number) => string): RawWrite | undefined {
  const statement = statementOf(args, placeholder);
  if (!statement) return undefined;
  const match = WRITE.exec(statement.sql);
  if (!match) return undefined;
  const verb = match[1]!.toUpperCase();
  const action: Action = verb.startsWith("INSERT") || verb.startsWith("REPLACE") ? "insert" : verb === "UPDATE" ? "update" : "delete";
  return { action, table: unquote(match[3]!), sql: statement.sql, parameters: statement.parameters };
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
 * The savepoint a `$executeRaw`/`$executeRawUnsafe` call sets, releases or rolls back to
 * (`SAVEPOINT x`, `RELEASE SAVEPOINT x`, `ROLLBACK TO SAVEPOINT x`, SQL Server's `SAVE TRANSACTION x`
 * and `ROLLBACK TRANSACTION x`); undefined for any other statement.
 */
export function parseRawSavepoint(args: unknown): RawSavepoint | undefined {
  const match = SAVEPOINT.exec(statementOf(args, () => "?")?.sql ?? "");
  if (!match) return undefined;
  const verb = match[1]!.toUpperCase();
  const kind = verb.startsWith("RELEASE") ? "release" : verb.startsWith("ROLLBACK") ? "rollback" : "save";
  return { kind, name: unquote(match[2]!) };
}

function statementOf(args: unknown, placeholder: (index: number) => string): { sql: string; parameters: unknown[] } | undefined {
  if (Array.isArray(args)) {
    return typeof args[0] === "string" ? { sql: args[0], parameters: args.slice(1) } : statementOf(args[0], placeholder);
  }
  if (typeof args !== "object" || args === null) return undefined;
  const raw = args as { strings?: unknown; values?: unknown; sql?: unknown };
  const values = Array.isArray(raw.values) ? [...raw.values] : [];
  if (Array.isArray(raw.strings)) {
    const sql = raw.strings.reduce<string>((text, part, i) => (i === 0 ? String(part) : `${text}${placeholder(i)}${String(part)}`), "");
    return { sql, parameters: values };
  }
  return typeof raw.sql === "string" ? { sql: raw.sql, parameters: values } : undefined;
}

function unquote(identifier: string): string {
  const first = identifier[0];
  return first === '"' || first === "`" || first === "[" ? identifier.slice(1, -1) : identifier;
}
