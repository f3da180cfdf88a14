import { setOwn, toJsonSafe } from "./codec.ts";
import type { DataEvent } from "./DataEvent.ts";

/**
 * Same-process delivery without bytes. `snapshot` copies a value into exactly what
 * `decode(encode(value))` gives (plain objects, fresh Dates and Buffers, -0 as 0, holes as
 * undefined, `toJSON` results), so a listener in this process sees what a Kafka consumer would;
 * `copyDecoded` copies such a snapshot again for each delivery, so no handler can change what
 * another one (or a dead letter) sees.
 */

/** A value in decoded form, and an upper bound of its encoded size in bytes. */
export interface Snapshot {
  value: unknown;
  maxBytes: number;
  /** Set by `snapshotCaptured` when it copied the envelope around the rows as the capture built it. */
  captured?: true;
}

// Thrown where encode would refuse; the caller then runs encode's own walk for its exact error.
const REFUSED = Symbol("refused");

let bytes = 0;

/** A decoded-form copy of `value`; throws encode's own `EnvelopeError` where encode would. */
export function snapshot(value: unknown): Snapshot {
  bytes = 0;
  try {
    const copy = snap(value);
    return { value: copy, maxBytes: bytes };
  } catch (error) {
    if (error !== REFUSED) throw error;
    toJsonSafe(value); // throws the same error, with the same path, as encode
    throw new Error("unreachable: encode accepted what the snapshot refused");
  }
}

/**
 * `snapshot` of an event the capture built, whose envelope (ids, times, transaction, trace) is
 * Koper's own: those fields are copied as they are, and only what adapters and apps supplied
 * (entity, action, rows, source, context, changes) is walked. Bulk writes and failures take
 * `snapshot`'s whole walk.
 */
export function snapshotCaptured(event: DataEvent): Snapshot {
  if (event.trace === undefined || event.bulk !== undefined || event.error !== undefined) return snapshot(event);
  bytes = 600; // the envelope's key names, its numbers and its two ids
  try {
    const entity = snap(event.entity) as string;
    const action = snap(event.action) as DataEvent["action"];
    const key = snap(event.key) as DataEvent["key"];
    const data = snap(event.data) as DataEvent["data"];
    const source = snap(event.source) as DataEvent["source"];
    const context = (isEmptyPlain(event.context) ? ((bytes += 50), EMPTY_CONTEXT) : snap(event.context)) as DataEvent["context"];
    const { specVersion, id, outcome, transaction, trace, time } = event;
    // `before` and `changes` in the literal, not added after it: a property added to a literal
    // allocates a property array, and late groups keep up to `retention` snapshots alive. (The
    // envelope's own objects, transaction, trace and time, are shared, not copied: nothing writes
    // them once the event is published, and a snapshot is only ever read and copied.)
    let value: DataEvent;
    if (event.changes !== undefined) {
      const changes = snap(event.changes) as string[];
      value =
        event.before !== undefined
          ? { specVersion, id, entity, action, outcome, key, data, source, transaction, context, trace, time, before: snap(event.before) as DataEvent["before"], changes }
          : { specVersion, id, entity, action, outcome, key, data, source, transaction, context, trace, time, changes };
    } else {
      value =
        event.before !== undefined
          ? { specVersion, id, entity, action, outcome, key, data, source, transaction, context, trace, time, before: snap(event.before) as DataEvent["before"] }
          : { specVersion, id, entity, action, outcome, key, data, source, transaction, context, trace, time };
    }
    return { value, maxBytes: bytes + 6 * event.trace.traceparent.length, captured: true };
  } catch (error) {
    if (error !== REFUSED) throw error;
    return snapshot(event); // throws encode's own error
  }
}

// The snapshot of an event without context (most): shared, since a snapshot is only ever read and copied.
const EMPTY_CONTEXT = Object.freeze({});

// A plain object with no enumerable string key, own or inherited: its snapshot is `{}`.
function isEmptyPlain(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const _ in value) return false;
  return true;
}

// Upper bounds: a UTF-16 unit takes at most 6 bytes in JSON (\uXXXX); a tag's overhead is < 40.
function snap(value: unknown): unknown {
  switch (typeof value) {
    case "string":
      bytes += 6 * value.length + 3;
      return value;
    case "number":
      bytes += 40;
      return value === 0 ? 0 : value; // JSON has no -0
    case "boolean":
      bytes += 6;
      return value;
    case "bigint":
      bytes += 40 + value.toString().length;
      return value;
    case "undefined":
      bytes += 40;
      return undefined;
    case "object":
      if (value === null) {
        bytes += 5;
        return null;
      }
      return snapObject(value);
    default:
      throw REFUSED;
  }
}

function snapObject(value: object): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    bytes += 2 + value.length;
    for (let i = 0; i < value.length; i++) out[i] = snap(value[i]);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return snapFields(value);
  if (value instanceof Date) {
    bytes += 50;
    return new Date(value.getTime());
  }
  if (value instanceof Uint8Array) {
    bytes += 50 + Math.ceil(value.byteLength / 3) * 4;
    return Buffer.isBuffer(value) ? Buffer.from(value) : new Uint8Array(value);
  }
  if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) throw REFUSED;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  return typeof toJSON === "function" ? snap(toJSON.call(value)) : snapFields(value);
}

// A spread copies an object's own enumerable fields at native speed (and "__proto__" as an own
// field); only the values that are objects themselves are then replaced, in place. Symbol keys,
// which JSON drops, are dropped too.
function snapFields(value: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value };
  if (Object.getOwnPropertySymbols(out).length > 0) for (const symbol of Object.getOwnPropertySymbols(out)) delete out[symbol as never];
  bytes += 50; // braces, and the wrapper of an object that has the tag key itself
  for (const key in out) {
    bytes += 6 * key.length + 4;
    const item = out[key];
    switch (typeof item) {
      case "string":
        bytes += 6 * item.length + 3;
        break;
      case "number":
        bytes += 40;
        if (item === 0 && Object.hasOwn(out, key)) out[key] = 0; // JSON has no -0
        break;
      case "boolean":
        bytes += 6;
        break;
      case "object":
        if (item === null) bytes += 5;
        else if (Object.hasOwn(out, key)) setOwn(out, key, snapObject(item)); // (not a field inherited from a polluted prototype)
        break;
      default:
        if (Object.hasOwn(out, key)) snap(item); // bigint and undefined stay as they are; a function or a symbol is refused
    }
  }
  return out;
}

/** A fresh copy of a snapshot (decoded-form values only), for one delivery. */
export function copyDecoded(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyDecoded(value[i]);
    return out;
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? Buffer.from(value) : new Uint8Array(value);
  // A snapshot's objects are plain, with own string keys only: the spread is the whole copy but for nested objects.
  const out: Record<string, unknown> = { ...value };
  for (const key in out) {
    const item = out[key];
    if (typeof item === "object" && item !== null && Object.hasOwn(out, key)) setOwn(out, key, copyDecoded(item));
  }
  return out;
}

/**
 * `copyDecoded` of an envelope `isPlainEvent` accepted, written out: its keys are known, and
 * source, transaction, trace and time hold only strings and numbers, so a spread copies them.
 */
export function copyEvent(event: DataEvent): DataEvent {
  const out = { ...event };
  out.key = copyDecoded(event.key) as DataEvent["key"];
  out.data = copyDecoded(event.data) as DataEvent["data"];
  out.source = { ...event.source };
  out.transaction = { ...event.transaction };
  out.context = copyDecoded(event.context) as DataEvent["context"];
  if (event.trace) out.trace = { ...event.trace };
  out.time = { ...event.time };
  if (event.before) out.before = copyDecoded(event.before) as DataEvent["before"];
  if (event.changes) out.changes = event.changes.slice();
  return out;
}
