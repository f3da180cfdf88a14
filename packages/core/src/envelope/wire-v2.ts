import { fromJsonSafe, isPlain, isSafeRecord, setOwn, toJsonSafe } from "./codec.ts";
import { Headers } from "../runtime/headers.ts";
import type { DataEvent } from "./DataEvent.ts";
import { copyDecoded } from "./local-copy.ts";

/**
 * Envelope v2 on the wire: the same DataEvent as v1, in fewer bytes and fewer nested objects.
 * Each fact once: the id and the traceparent travel in the headers (`koper-id`, `traceparent`,
 * read before decoding, by dead-letter tools and by tracing), not again in the body. Short stable keys; defaults left out (`outcome` committed, empty `context`, transaction id equal
 * to the event id, position 0, null key/data); `before` as the fields that differ from `data`;
 * source as a positional array; time points as integer microseconds, the later ones as offsets
 * from `occurred`. Row values keep v1's tags. Anything a compact form cannot carry exactly is
 * written in a generic form (its own key), so decoding always gives back the event as it was.
 *
 * | key | field | | key | field |
 * | --- | --- | --- | --- | --- |
 * | `v` | 2 (the marker) | | `s` / `S` | source: positional / as is |
 * | `e`, `a` | entity, action (`i`/`u`/`d`); id: header | | `q`, `p` / `t` | transaction id (when ≠ id), position (when ≠ 0) / as is |
 * | `o` | outcome, when not committed | | `x` | context, when not empty |
 * | `k`, `d` | key, data, when not null | | `tp`, `ts` / `tr` | with a tracestate: both / trace as is; else: header |
 * | `b` / `bd` | before as is / its fields that differ from data | | `m` / `M` | time: µs, offsets / as is |
 * | `c`, `u`, `r` | changes, bulk, error | | | |
 */
export const WIRE_V2 = 2;

type Wire = Record<string, unknown>;

const ACTIONS: Record<string, string> = { insert: "i", update: "u", delete: "d" };
const ACTION_OF: Record<string, string> = { i: "insert", u: "update", d: "delete" };
const SOURCE_KEYS = ["orm", "database", "schema", "table", "service"] as const;
const TIME_KEYS = ["occurred", "committed", "published", "received", "handled"] as const;
const REQUIRED = ["key", "data", "source", "transaction", "context", "time"] as const;
const KNOWN = new Set<string>(["specVersion", "id", "entity", "action", "outcome", "before", "changes", "bulk", "error", "trace", ...REQUIRED]);

/** The event's v2 form (JSON-safe, for JSON.stringify), or undefined when only v1 carries it unchanged. */
export function toWireV2(event: DataEvent): Wire | undefined {
  const e = event as unknown as Record<string, unknown>;
  if (!hasV2Header(e)) return undefined;
  const w: Wire = { v: WIRE_V2, e: e.entity, a: ACTIONS[e.action as string] };
  if (e.outcome !== "committed") w.o = e.outcome;
  if (e.key !== null) w.k = toJsonSafe(e.key, "key");
  const data = toJsonSafe(e.data, "data");
  if (data !== null) w.d = data;
  if ("before" in e) writeBefore(w, e.before, data);
  if ("changes" in e) w.c = toJsonSafe(e.changes, "changes");
  if ("bulk" in e) w.u = toJsonSafe(e.bulk, "bulk");
  if ("error" in e) w.r = toJsonSafe(e.error, "error");
  writeSource(w, e.source);
  writeTransaction(w, e.transaction, e.id as string);
  if (!isPlain(e.context) || Object.keys(e.context).length > 0) w.x = toJsonSafe(e.context, "context");
  if ("trace" in e) writeTrace(w, e.trace);
  writeTime(w, e.time);
  return w;
}

// The scalars v2 writes in a short form must have a value that form holds; anything else is v1's.
function hasV2Header(e: Record<string, unknown>): boolean {
  if (e.specVersion !== 1 || typeof e.id !== "string" || typeof e.entity !== "string") return false;
  if (typeof e.action !== "string" || !Object.hasOwn(ACTIONS, e.action)) return false;
  if (e.outcome !== "committed" && e.outcome !== "failed") return false;
  for (const key of REQUIRED) if (!(key in e)) return false;
  for (const key in e) if (!KNOWN.has(key)) return false;
  return true;
}

// An update's before is mostly its data: send only the fields that differ, when both have the same fields in the same order.
function writeBefore(w: Wire, before: unknown, data: unknown): void {
  const safe = toJsonSafe(before, "before");
  const diff = isSafeRecord(safe) && isSafeRecord(data) ? differing(data, safe) : undefined;
  if (diff) w.bd = diff;
  else w.b = safe;
}

function differing(data: Record<string, unknown>, before: Record<string, unknown>): Record<string, unknown> | undefined {
  const keys = Object.keys(before);
  const dataKeys = Object.keys(data);
  if (keys.length !== dataKeys.length) return undefined;
  const diff: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== dataKeys[i]) return undefined;
    if (!sameJson(data[key], before[key])) setOwn(diff, key, before[key]);
  }
  return diff;
}

// Equality of two JSON-safe values as JSON.stringify would write them (key order included).
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || !sameJson((a as Wire)[ka[i]!], (b as Wire)[kb[i]!])) return false;
  }
  return true;
}

function writeSource(w: Wire, source: unknown): void {
  if (isPlain(source)) {
    const keys = Object.keys(source);
    const out: (string | null)[] = [];
    let used = 0;
    for (const name of SOURCE_KEYS) {
      const present = keys[used] === name && typeof source[name] === "string";
      out.push(present ? (source[name] as string) : null);
      if (present) used++;
    }
    if (used === keys.length) {
      while (out.length > 0 && out[out.length - 1] === null) out.pop();
      w.s = out;
      return;
    }
  }
  w.S = toJsonSafe(source, "source");
}

function writeTransaction(w: Wire, transaction: unknown, id: string): void {
  const keys = isPlain(transaction) ? Object.keys(transaction) : [];
  const t = transaction as { id?: unknown; position?: unknown };
  if (keys.length === 2 && keys[0] === "id" && keys[1] === "position" && typeof t.id === "string" && Number.isFinite(t.position)) {
    if (t.id !== id) w.q = t.id;
    if (t.position !== 0) w.p = t.position;
  } else {
    w.t = toJsonSafe(transaction, "transaction");
  }
}

function writeTrace(w: Wire, trace: unknown): void {
  const keys = isPlain(trace) ? Object.keys(trace) : [];
  const t = trace as { traceparent?: unknown; tracestate?: unknown };
  const plain =
    keys[0] === "traceparent" &&
    typeof t.traceparent === "string" &&
    (keys.length === 1 || (keys.length === 2 && keys[1] === "tracestate" && typeof t.tracestate === "string"));
  if (!plain) w.tr = toJsonSafe(trace, "trace");
  else if (keys.length === 2) {
    w.tp = t.traceparent;
    w.ts = t.tracestate;
  } // else: the traceparent header says it all

}

// [occurred µs, then each later time point as µs after it, null when absent]: integers parse fastest.
function writeTime(w: Wire, time: unknown): void {
  const points = isPlain(time) ? microseconds(time) : undefined;
  if (points) w.m = points;
  else w.M = toJsonSafe(time, "time");
}

function microseconds(time: Record<string, unknown>): (number | null)[] | undefined {
  const keys = Object.keys(time);
  if (keys[0] !== "occurred") return undefined;
  const base = exactMicros(time.occurred);
  if (base === undefined) return undefined;
  const out: (number | null)[] = [base];
  let used = 1;
  for (let i = 1; i < TIME_KEYS.length; i++) {
    if (keys[used] !== TIME_KEYS[i]) {
      out.push(null);
      continue;
    }
    const micros = exactMicros(time[TIME_KEYS[i]!]);
    if (micros === undefined) return undefined;
    out.push(micros - base);
    used++;
  }
  if (used !== keys.length) return undefined;
  while (out[out.length - 1] === null) out.pop();
  return out;
}

// The time point in whole microseconds, when dividing by 1000 gives back exactly the same number.
function exactMicros(value: unknown): number | undefined {
  if (typeof value !== "number") return undefined;
  const micros = Math.round(value * 1000);
  return Number.isSafeInteger(micros) && micros / 1000 === value && !Object.is(value, -0) ? micros : undefined;
}

/**
 * The DataEvent a parsed v2 body carries, as v1 would have decoded it. `tagged` false: the text held
 * no value tag, so values need no untagging. Fields that are missing or of the wrong type come out
 * missing or as they are, for the envelope check to report.
 */
export function fromWireV2(w: Wire, tagged: boolean, headers: Readonly<Record<string, string>>): Record<string, unknown> {
  const data = "d" in w ? values(w.d, tagged) : null;
  const id = headers[Headers.id];
  const event: Record<string, unknown> = {
    specVersion: 1,
    id,
    entity: w.e,
    action: typeof w.a === "string" && Object.hasOwn(ACTION_OF, w.a) ? ACTION_OF[w.a] : w.a,
    outcome: "o" in w ? w.o : "committed",
    key: "k" in w ? values(w.k, tagged) : null,
    data,
    source: "S" in w ? values(w.S, tagged) : readSource(w.s),
    transaction: "t" in w ? values(w.t, tagged) : { id: "q" in w ? w.q : id, position: "p" in w ? w.p : 0 },
    context: "x" in w ? values(w.x, tagged) : {},
  };
  if ("tr" in w) event.trace = values(w.tr, tagged);
  else if ("tp" in w) event.trace = "ts" in w ? { traceparent: w.tp, tracestate: w.ts } : { traceparent: w.tp };
  else if (headers[Headers.traceparent] !== undefined) event.trace = { traceparent: headers[Headers.traceparent] };
  event.time = "M" in w ? values(w.M, tagged) : readTime(w.m);
  if ("b" in w) event.before = values(w.b, tagged);
  else if ("bd" in w) event.before = withDiff(data, values(w.bd, tagged));
  if ("c" in w) event.changes = values(w.c, tagged);
  if ("u" in w) event.bulk = values(w.u, tagged);
  if ("r" in w) event.error = values(w.r, tagged);
  return event;
}

// A field's values untagged, unless the text held no tag at all.
function values(value: unknown, tagged: boolean): unknown {
  return tagged ? fromJsonSafe(value) : value;
}

function readSource(positional: unknown): unknown {
  if (!Array.isArray(positional)) return positional;
  const source: Record<string, unknown> = {};
  for (let i = 0; i < SOURCE_KEYS.length; i++) if (positional[i] != null) source[SOURCE_KEYS[i]!] = positional[i];
  return source;
}

function readTime(points: unknown): unknown {
  if (!Array.isArray(points) || typeof points[0] !== "number") return points;
  const base = points[0];
  const time: Record<string, unknown> = { occurred: base / 1000 };
  for (let i = 1; i < Math.min(points.length, TIME_KEYS.length); i++) {
    const offset: unknown = points[i];
    if (offset !== null) time[TIME_KEYS[i]!] = typeof offset === "number" ? (base + offset) / 1000 : offset;
  }
  return time;
}

// The row before: a copy of data (its own objects, as v1 decoding would give) with the differing fields.
function withDiff(data: unknown, diff: unknown): unknown {
  if (!isSafeRecord(data) || typeof diff !== "object" || diff === null) return diff;
  const before = copyDecoded(data) as Record<string, unknown>;
  for (const key of Object.keys(diff)) setOwn(before, key, (diff as Wire)[key]);
  return before;
}
