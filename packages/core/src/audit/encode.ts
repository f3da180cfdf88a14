import { createHash } from "node:crypto";
import { AuditError, EnvelopeError } from "../errors.ts";
import { fromJsonSafe, toJsonSafe } from "../envelope/codec.ts";
import type { SqlDialect } from "../capture/in-transaction.ts";

/** Plain JSON text of a value (bigint as a string, bytes as base64, Dates as ISO): canonical key text, and the entry fallback for what the codec refuses. */
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
 * JSON text of an audit entry: the wire codec's JSON (`toJsonSafe`), so a Date, bigint, Buffer,
 * Uint8Array, `undefined` or NaN in a row is stored tagged (`{"$koper":"Date","v":…}`) and read back as
 * itself (`parseEntries`), as the outbox stores events. The entry's own absent fields are left out.
 * A value the codec cannot carry (a Map: the capture refuses those before a commit) falls back to
 * `toJson`'s lossy text rather than failing the application's transaction.
 */
export function entryJson(entry: object): string {
  const own: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(entry)) if (value !== undefined) own[field] = value;
  try {
    return JSON.stringify(toJsonSafe(own));
  } catch (error) {
    if (error instanceof EnvelopeError) return toJson(own)!;
    throw error;
  }
}

/** Parses `entry` JSON texts (one JSON.parse for all of them) and gives tagged values back their types. */
export function parseEntries<T>(texts: readonly unknown[]): T[] {
  const joined = `[${texts.join(",")}]`;
  const parsed = JSON.parse(joined) as T[];
  // A text with neither the tag key nor a \u escape (which could spell it) holds no tagged value.
  if (!joined.includes('"$koper"') && !joined.includes("\\u")) return parsed;
  try {
    return fromJsonSafe(parsed) as T[];
  } catch {
    // A row written before typed storage whose data has a field named "$koper" is no tag: that row
    // reads as it was stored, the others decoded.
    return parsed.map((entry) => {
      try {
        return fromJsonSafe(entry) as T;
      } catch {
        return entry;
      }
    });
  }
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
  if (typeof key !== "object") return columnText(String(key), KEY_CHARS);
  const fields = Object.keys(key);
  if (fields.length === 1) return columnText(scalarText(key[fields[0]!]), KEY_CHARS);
  return columnText(canonicalJson(key), KEY_CHARS);
}

/** Characters the `entity_key` and `actor` columns hold (varchar(512), varchar(191)). */
export const KEY_CHARS = 512;
export const ACTOR_CHARS = 191;

/**
 * A text as a column of `max` characters stores it: itself, or when longer its SHA-256 digest
 * (`sha256:<hex>`), so a long key or actor is still looked up by equality and never makes the
 * application's write fail with "value too long". (JS length counts UTF-16 units: at most `max` characters.)
 */
export function columnText(text: string, max: number): string {
  return text.length <= max ? text : `sha256:${createHash("sha256").update(text).digest("hex")}`;
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
