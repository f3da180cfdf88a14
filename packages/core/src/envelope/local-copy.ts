import { toJsonSafe } from "./codec.ts";
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

function snapFields(value: object): Record<string, unknown> {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  bytes += 50; // braces, and the wrapper of an object that has the tag key itself
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    bytes += 6 * key.length + 4;
    setOwn(out, key, snap(record[key]));
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
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in record) setOwn(out, key, copyDecoded(record[key]));
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

// A plain assignment to "__proto__" would replace the object's prototype instead.
function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}
