import { AuditError } from "../errors.ts";
import type { SqlDialect } from "../capture/in-transaction.ts";

/** JSON text of a value as the audit stores it: bigint as a string, bytes as base64, Dates as ISO. */
export function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
    if (v && typeof v === "object" && (v as { type?: unknown }).type === "Buffer" && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString("base64");
    }
    return v;
  });
}

/**
 * JSON text of an audit entry, as `toJson` writes it: JSON.stringify without the replacer when nothing
 * in it needs one (no bigint, no bytes), which is most rows and several times faster.
 */
export function entryJson(entry: object): string {
  if (needsReplacer(entry, 0)) return toJson(entry)!;
  try {
    return JSON.stringify(entry);
  } catch {
    return toJson(entry)!; // a bigint a toJSON() returned
  }
}

function needsReplacer(value: unknown, depth: number): boolean {
  if (typeof value === "bigint") return true;
  if (typeof value !== "object" || value === null || value instanceof Date) return false;
  if (depth > 32 || value instanceof Uint8Array || (value as { type?: unknown }).type === "Buffer") return true;
  if (Array.isArray(value)) return value.some((item) => needsReplacer(item, depth + 1));
  for (const key in value) if (needsReplacer((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/** Parses a JSON column (drivers hand back text; some hand back parsed values). */
export function fromJson<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") return value as T;
  return JSON.parse(value) as T;
}

/** A key value as text: scalars as themselves, objects as canonical JSON. */
function scalarText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object" && value !== null) return canonicalJson(value);
  return String(value);
}

/** JSON with object keys sorted, so equal keys give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return toJson(value) ?? "null";
}

/**
 * The text a row's key is looked up by: the value itself for a one-column key (so `history("Customer", 7)`
 * works), canonical JSON for a composite key.
 */
export function keyText(key: Record<string, unknown> | string | number | bigint | null | undefined): string {
  if (key === null || key === undefined) return "";
  if (typeof key !== "object") return String(key);
  const fields = Object.keys(key);
  if (fields.length === 1) return scalarText(key[fields[0]!]);
  return canonicalJson(key);
}

/** Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL (audit SQL has no `?` in literals). */
export function placeholders(sql: string, dialect: SqlDialect): string {
  if (dialect !== "postgres") return sql;
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Epoch milliseconds of a Date or a number (a duration string is the CLI's job). */
export function epochMs(value: Date | number, what: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) throw AuditError.invalidArgument(what, "expected a Date or epoch milliseconds");
  return Math.floor(ms);
}
