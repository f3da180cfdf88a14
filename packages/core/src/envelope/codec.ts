import { isUtf8 } from "node:buffer";
import { EnvelopeError } from "../errors.ts";

/**
 * The wire codec: JSON, plus tagged objects for what JSON loses and ORMs hand over
 * (Date, bigint, Buffer/Uint8Array, undefined, non-finite numbers). A plain object that
 * itself has the tag key is wrapped, so any value round-trips unchanged.
 */
const TAG = "$koper";
// A text with neither the tag key nor a \u escape (which could spell it) holds no tagged value.
const TAG_KEY = '"$koper"';

type Tagged =
  | { [TAG]: "Date"; v: number | null }
  | { [TAG]: "BigInt"; v: string }
  | { [TAG]: "Buffer" | "Uint8Array"; v: string }
  | { [TAG]: "undefined" }
  | { [TAG]: "Number"; v: "NaN" | "Infinity" | "-Infinity" }
  | { [TAG]: "Object"; v: Record<string, unknown> };


/** Turns a value into bytes that `decode` turns back into an equal value. */
export function encode(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(toJsonSafe(value)), "utf8");
}

/** Inverse of `encode`; throws `EnvelopeError` on bytes that are not UTF-8 JSON. */
export function decode(bytes: Uint8Array): unknown {
  const { parsed, tagged } = parseJson(bytes);
  return tagged ? fromJsonSafe(parsed) : parsed;
}

/**
 * The bytes as parsed JSON, not yet untagged; `tagged` is false when the text holds no value tag,
 * so there is nothing for `fromJsonSafe` to do.
 */
export function parseJson(bytes: Uint8Array): { parsed: unknown; tagged: boolean } {
  try {
    if (!isUtf8(bytes)) throw new Error("invalid UTF-8");
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
    return { parsed: JSON.parse(text), tagged: text.includes(TAG_KEY) || text.includes("\\u") };
  } catch (error) {
    throw EnvelopeError.invalid(`the bytes are not UTF-8 JSON (${(error as Error).message})`, error);
  }
}

// Thrown inside the recursion; each level adds its key, so no path is built unless it fails.
class Unencodable {
  readonly path: string[] = [];
  constructor(readonly what: string) {}
}

/** The value as plain JSON, with tags for the types JSON cannot hold; `at` names it in errors. */
export function toJsonSafe(value: unknown, at?: string): unknown {
  try {
    return safe(value);
  } catch (error) {
    if (!(error instanceof Unencodable)) throw error;
    if (at !== undefined) error.path.push(at);
    throw EnvelopeError.unencodable(error.path.reverse().join("."), error.what);
  }
}

/** A plain object, as JSON.parse and spreads make them (Object's prototype): the envelope's own objects. */
export function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** True for what `toJsonSafe` gives for an object of fields (not an array, not a tagged value). */
export function isSafeRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Object.hasOwn(value, TAG);
}

function safe(value: unknown): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : tag({ [TAG]: "Number", v: String(value) as "NaN" });
    case "bigint":
      return tag({ [TAG]: "BigInt", v: value.toString() });
    case "undefined":
      return tag({ [TAG]: "undefined" });
    case "object":
      return value === null ? null : safeObject(value);
    default:
      throw new Unencodable(`a ${typeof value}`);
  }
}

// Copy-on-write: a subtree with nothing to tag is returned as it is, for JSON.stringify to write
// natively; only the objects on the path to a tagged value are copied.
function safeObject(value: object): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const converted = member(item, i);
      if (out) out[i] = converted;
      else if (converted !== item || !(i in value)) (out = value.slice(0, i))[i] = converted;
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? fields(value) : special(value);
}

// Own enumerable fields: plain objects, and entity class instances as JSON.stringify sees them.
function fields(value: object): unknown {
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = record[key];
    const converted = member(item, key);
    if (out) setOwn(out, key, converted);
    else if (converted !== item) {
      out = {};
      for (let j = 0; j < i; j++) setOwn(out, keys[j]!, record[keys[j]!]);
      setOwn(out, key, converted);
    }
  }
  const result = out ?? value;
  return Object.hasOwn(result, TAG) ? tag({ [TAG]: "Object", v: out ?? { ...record } }) : result;
}

function member(value: unknown, key: string | number): unknown {
  if (typeof value === "string" || typeof value === "boolean" || value === null) return value; // the common case
  if (typeof value === "number" && Number.isFinite(value)) return value;
  try {
    return safe(value);
  } catch (error) {
    if (error instanceof Unencodable) error.path.push(typeof key === "number" ? `[${key}]` : key);
    throw error;
  }
}

// Class instances: the tagged types, entity objects (own enumerable fields), or refused.
function special(value: object): unknown {
  if (value instanceof Date) {
    const time = value.getTime();
    return tag({ [TAG]: "Date", v: Number.isNaN(time) ? null : time });
  }
  if (value instanceof Uint8Array) {
    const kind = Buffer.isBuffer(value) ? "Buffer" : "Uint8Array";
    return tag({ [TAG]: kind, v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") });
  }
  if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    throw new Unencodable(`a ${value.constructor.name}`);
  }
  // Value classes (Prisma's Decimal, Luxon…) say how they serialize, as JSON.stringify would ask them.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  return typeof toJSON === "function" ? safe(toJSON.call(value)) : fields(value);
}

function tag(tagged: Tagged): Tagged {
  return tagged;
}

/** Inverse of `toJsonSafe`. Rewrites `value` in place: it must be freshly parsed JSON. */
export function fromJsonSafe(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromJsonSafe(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  return typeof record[TAG] === "string" ? untag(record as Tagged) : decodeMembers(record);
}

function decodeMembers(record: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (typeof item !== "object" || item === null) continue;
    const decoded = fromJsonSafe(item);
    if (decoded !== item) setOwn(record, key, decoded);
  }
  return record;
}

/** Sets an own field; a plain assignment to "__proto__" would replace the object's prototype instead. */
export function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

function untag(tagged: Tagged): unknown {
  switch (tagged[TAG]) {
    case "Date":
      return new Date(tagged.v ?? Number.NaN);
    case "BigInt":
      return BigInt(tagged.v);
    case "Buffer":
      return Buffer.from(tagged.v, "base64");
    case "Uint8Array":
      return new Uint8Array(Buffer.from(tagged.v, "base64"));
    case "undefined":
      return undefined;
    case "Number":
      return Number(tagged.v);
    case "Object":
      return decodeMembers(tagged.v);
    default:
      throw EnvelopeError.invalid(`unknown value tag ${JSON.stringify((tagged as Record<string, unknown>)[TAG])}`);
  }
}
