import { regexes } from "zod";
import { isPlain } from "./codec.ts";
import type { DataEvent } from "./DataEvent.ts";

/**
 * A hand-written fast check of the common envelope. True only when `DataEventSchema` would accept
 * the value and return it unchanged (no unknown keys for it to strip); anything else, including rare
 * shapes (bulk writes, failures), answers false so the caller runs zod for the verdict and its messages.
 */
const UUID = regexes.uuid();

/** True when `value` is certainly a valid data event that zod would pass through as it is. */
export function isPlainEvent(value: unknown): value is DataEvent {
  if (!isPlain(value)) return false;
  const v = value as Record<string, unknown>;
  let known = 11;
  if (
    v.specVersion !== 1 ||
    typeof v.id !== "string" ||
    !UUID.test(v.id) ||
    !nonEmpty(v.entity) ||
    (v.action !== "insert" && v.action !== "update" && v.action !== "delete") ||
    (v.outcome !== "committed" && v.outcome !== "failed") ||
    !rowOrNull(v.key) ||
    !rowOrNull(v.data) ||
    !isSource(v.source) ||
    !isTransaction(v.transaction) ||
    !isContext(v.context) ||
    !isTime(v.time)
  ) {
    return false;
  }
  if ("before" in v) {
    if (!rowOrNull(v.before)) return false;
    known++;
  }
  if ("changes" in v) {
    if (!isStrings(v.changes)) return false;
    known++;
  }
  if ("trace" in v) {
    if (!isTrace(v.trace)) return false;
    known++;
  }
  // bulk, error and any unknown key: zod decides (and strips what it does not know).
  return Object.keys(v).length === known;
}

/**
 * `isPlainEvent` of a `snapshotCaptured` copy: the envelope around the rows is Koper's own (a
 * UUIDv7 id, finite times, its transaction and trace), so only what adapters and apps supplied is checked.
 */
export function isPlainCaptured(v: DataEvent): boolean {
  return (
    nonEmpty(v.entity) &&
    (v.action === "insert" || v.action === "update" || v.action === "delete") &&
    v.outcome === "committed" &&
    rowOrNull(v.key) &&
    rowOrNull(v.data) &&
    isSource(v.source) &&
    isContext(v.context) &&
    (v.before === undefined || rowOrNull(v.before)) &&
    (v.changes === undefined || isStrings(v.changes))
  );
}

function nonEmpty(value: unknown): boolean {
  return typeof value === "string" && value.length > 0;
}

function rowOrNull(value: unknown): boolean {
  return value === null || (typeof value === "object" && !Array.isArray(value));
}

function optionalString(record: Record<string, unknown>, key: string): number {
  if (!(key in record)) return 0;
  return typeof record[key] === "string" ? 1 : Number.NaN;
}

function isSource(value: unknown): boolean {
  if (!isPlain(value) || !nonEmpty(value.orm)) return false;
  const known =
    1 +
    optionalString(value, "database") +
    optionalString(value, "schema") +
    optionalString(value, "table") +
    optionalString(value, "service");
  return Object.keys(value).length === known;
}

function isTransaction(value: unknown): boolean {
  if (!isPlain(value) || !nonEmpty(value.id)) return false;
  const position = value.position;
  return Number.isSafeInteger(position) && (position as number) >= 0 && Object.keys(value).length === 2;
}

// Extras are the context's own (catchall); only actor and requestId have a type.
function isContext(value: unknown): boolean {
  if (!isPlain(value)) return false;
  return optionalString(value, "actor") + optionalString(value, "requestId") >= 0;
}

function isTrace(value: unknown): boolean {
  if (!isPlain(value) || typeof value.traceparent !== "string") return false;
  return Object.keys(value).length === 1 + optionalString(value, "tracestate");
}

function instant(record: Record<string, unknown>, key: string): number {
  if (!(key in record)) return 0;
  const value = record[key];
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? 1 : Number.NaN;
}

function isTime(value: unknown): boolean {
  if (!isPlain(value) || instant(value, "occurred") !== 1) return false;
  const known = 1 + instant(value, "committed") + instant(value, "published") + instant(value, "received") + instant(value, "handled");
  return Object.keys(value).length === known;
}

function isStrings(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false;
  return true;
}
