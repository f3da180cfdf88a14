import { ConfigError } from "../errors.ts";
import { CONTENT_TYPE, CONTENT_TYPE_V2, Headers } from "../runtime/headers.ts";
import { encode, fromJsonSafe, isPlain, parseJson } from "./codec.ts";
import type { DataEvent } from "./DataEvent.ts";
import { fromWireV2, toWireV2, WIRE_V2 } from "./wire-v2.ts";

/** The envelope versions Koper writes: 1 (the DataEvent as JSON) or 2 (the compact form of `wire-v2.ts`). */
export type WireVersion = 1 | 2;

/** The `envelopeVersion` option checked: 2 unless told 1. */
export function envelopeVersionOf(version: unknown): WireVersion {
  if (version === undefined || version === 2) return 2;
  if (version === 1) return 1;
  throw ConfigError.invalidOption("envelopeVersion", `expected 1 or 2, got ${String(version)}`);
}

/** A data event as a message: its bytes and headers, and the version they were written in. */
export interface EncodedEvent {
  value: Uint8Array;
  headers: Record<string, string>;
  version: WireVersion;
}

/**
 * A data event's bytes and headers in `version`; an event that v2 cannot carry unchanged (a key
 * Koper does not know, an action or outcome outside the schema) goes as v1.
 */
export function encodeEvent(event: DataEvent, version: WireVersion): EncodedEvent {
  const wire = version === 2 ? toWireV2(event) : undefined;
  if (!wire) return { value: encode(event), headers: v1Headers(event), version: 1 };
  // Few headers: kafkajs allocates and encodes each one on its own. v2 has the id, its content type, the traceparent.
  const headers: Record<string, string> = { [Headers.id]: event.id, [Headers.contentType]: CONTENT_TYPE_V2 };
  if (typeof event.trace?.traceparent === "string") headers[Headers.traceparent] = event.trace.traceparent;
  return { value: Buffer.from(JSON.stringify(wire), "utf8"), headers, version: 2 };
}

/** v1's headers: the id, entity and action (what v1 consumers may filter on), content type, traceparent. */
export function v1Headers(event: HeaderFields): Record<string, string> {
  const headers: Record<string, string> = { [Headers.id]: event.id, [Headers.entity]: event.entity };
  if (typeof event.action === "string") headers[Headers.action] = event.action;
  headers[Headers.contentType] = CONTENT_TYPE;
  const traceparent = event.trace?.traceparent;
  if (typeof traceparent === "string") headers[Headers.traceparent] = traceparent;
  return headers;
}

/** What the v1 headers say of an event: a DataEvent, or a stored one read loosely (an outbox row's). */
export interface HeaderFields {
  id: string;
  entity: string;
  action?: unknown;
  trace?: { traceparent?: unknown } | undefined;
}

/**
 * A data envelope, v1 or v2 (told apart by the body), as the DataEvent it carries (not yet checked).
 * A v2 body takes its id and traceparent from `headers`: without them it is not a valid event.
 */
export function decodeEvent(bytes: Uint8Array, headers: Readonly<Record<string, string>> = {}): unknown {
  const { parsed, tagged } = parseJson(bytes);
  if (isPlain(parsed) && parsed.v === WIRE_V2 && !("specVersion" in parsed)) return fromWireV2(parsed, tagged, headers);
  return tagged ? fromJsonSafe(parsed) : parsed;
}
