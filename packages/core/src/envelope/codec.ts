import { EnvelopeError } from "../errors.ts";

/**
 * The wire codec: JSON, plus tagged objects for what JSON loses and ORMs hand over
 * (Date, bigint, Buffer/Uint8Array, undefined, non-finite numbers). A plain object that
 * itself has the tag key is wrapped, so any value round-trips unchanged.
 */
const TAG = "$koper";

type Tagged =
  | { [TAG]: "Date"; v: number | null }
  | { [TAG]: "BigInt"; v: string }
  | { [TAG]: "Buffer" | "Uint8Array"; v: string }
  | { [TAG]: "undefined" }
  | { [TAG]: "Number"; v: "NaN" | "Infinity" | "-Infinity" }
  | { [TAG]: "Object"; v: Record<string, unknown> };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Turns a value into bytes that `decode` turns back into an equal value. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(toJsonSafe(value, "")));
}

/** Inverse of `encode`; throws `EnvelopeError` on bytes that are not UTF-8 JSON. */
export function decode(bytes: Uint8Array): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw EnvelopeError.invalid(`the bytes are not UTF-8 JSON (${(error as Error).message})`, error);
  }
  return fromJsonSafe(parsed);
}

/** The value as plain JSON, with tags for the types JSON cannot hold. */
export function toJsonSafe(value: unknown, path: string): unknown {
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
      return objectToJsonSafe(value, path);
    default:
      throw EnvelopeError.unencodable(path, `a ${typeof value}`);
  }
}

function objectToJsonSafe(value: object | null, path: string): unknown {
  if (value === null) return null;
  if (value instanceof Date) {
    const time = value.getTime();
    return tag({ [TAG]: "Date", v: Number.isNaN(time) ? null : time });
  }
  if (value instanceof Uint8Array) {
    const kind = Buffer.isBuffer(value) ? "Buffer" : "Uint8Array";
    return tag({ [TAG]: kind, v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") });
  }
  if (Array.isArray(value)) return value.map((item, i) => toJsonSafe(item, `${path}[${i}]`));
  if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    throw EnvelopeError.unencodable(path, `a ${value.constructor.name}`);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    out[key] = toJsonSafe((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
  }
  return Object.hasOwn(out, TAG) ? tag({ [TAG]: "Object", v: out }) : out;
}

function tag(tagged: Tagged): Tagged {
  return tagged;
}

/** Inverse of `toJsonSafe`. */
export function fromJsonSafe(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(fromJsonSafe);
  const record = value as Record<string, unknown>;
  if (typeof record[TAG] === "string") return untag(record as Tagged);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) out[key] = fromJsonSafe(record[key]);
  return out;
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
    case "Object": {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(tagged.v)) out[key] = fromJsonSafe(tagged.v[key]);
      return out;
    }
    default:
      throw EnvelopeError.invalid(`unknown value tag ${JSON.stringify((tagged as Record<string, unknown>)[TAG])}`);
  }
}
