import { fromJsonSafe } from "../envelope/codec.ts";
import type { DataEvent } from "../envelope/DataEvent.ts";
import { isPlainEvent } from "../envelope/envelope-check.ts";
import { LocalEvent } from "../envelope/LocalEvent.ts";
import { v1Headers } from "../envelope/wire.ts";
import { PublishError } from "../errors.ts";
import { CONTENT_TYPE, Headers } from "../runtime/headers.ts";
import { LocalMessage } from "../runtime/LocalMessage.ts";
import type { SentEvent } from "../runtime/Producer.ts";
import type { OutgoingMessage } from "../transports/Transport.ts";
import type { PendingRow } from "./rows.ts";

/** The messages of a batch of outbox rows, in row order, and the rows that can never be sent. */
export interface StoredBatch {
  messages: OutgoingMessage[];
  /** One per message, for the producer's metrics and `published` events. */
  sent: SentEvent[];
  /** Rows too large for `maxPayloadBytes`: reported `publish_failed` and finished, since retrying cannot help. */
  unsendable: { topic: string; id: string; error: Error }[];
}

/** How the producer sends: in this process (no bytes unless asked) or through a broker (bytes). */
export interface StoredTarget {
  inProcess: boolean;
  maxPayloadBytes: number;
  /** The publish time stamped in every event (`time.published`). */
  published: number;
}

// `,"published":` and a time in ms: what stamping adds to a stored payload, at most.
const STAMP_BYTES = 32;

/**
 * Turns stored events into messages with the least work: the row's JSON is parsed once and stamped
 * with the publish time. A broker gets the stamped JSON as it is (the tags stay encoded); this process
 * gets the decoded event itself (fresh from the parse, so no copy), marked checked only when it passes
 * the envelope check. A row that is not a readable envelope (edited by hand, corrupted) goes as its
 * bytes, for the consumer to dead-letter with the reason: it neither blocks the outbox nor is lost.
 */
export function storedMessages(rows: readonly PendingRow[], target: StoredTarget): StoredBatch {
  const batch: StoredBatch = { messages: [], sent: [], unsendable: [] };
  for (const row of rows) {
    const raw = parseObject(row.payload);
    const time = raw && isObject(raw.time) ? raw.time : undefined;
    if (time) time.published = target.published;
    try {
      const message = raw && time ? eventMessage(row, raw, target) : rawMessage(row, target);
      batch.messages.push(message);
      batch.sent.push({ id: row.eventId, time: (time ?? {}) as DataEvent["time"] });
    } catch (error) {
      batch.unsendable.push({ topic: row.topic, id: row.eventId, error: error as Error });
    }
  }
  return batch;
}

function eventMessage(row: PendingRow, raw: Record<string, unknown>, target: StoredTarget): OutgoingMessage {
  const headers = headersOf(row, raw);
  // The bytes only when they are needed: a broker, or an event that may exceed the limit.
  const bytes = !target.inProcess || 3 * row.payload.length + STAMP_BYTES > target.maxPayloadBytes ? checked(row, Buffer.from(JSON.stringify(raw)), target) : undefined;
  if (!target.inProcess) return { topic: row.topic, key: row.routingKey, value: bytes!, headers };
  let value: unknown;
  try {
    value = fromJsonSafe(raw);
  } catch {
    // An unknown tag: the decode stopped half way through `raw`, so the row's own bytes go.
    return { topic: row.topic, key: row.routingKey, value: checked(row, Buffer.from(row.payload), target), headers };
  }
  // Only an envelope that passes the consumers' check skips it (any other is decoded and checked there).
  return new LocalMessage(row.topic, row.routingKey, new LocalEvent(value as object, isPlainEvent), bytes, headers);
}

function rawMessage(row: PendingRow, target: StoredTarget): OutgoingMessage {
  const value = checked(row, Buffer.from(row.payload), target);
  return { topic: row.topic, key: row.routingKey, value, headers: { [Headers.id]: row.eventId, [Headers.entity]: row.entity, [Headers.contentType]: CONTENT_TYPE } };
}

function headersOf(row: PendingRow, raw: Record<string, unknown>): Record<string, string> {
  return v1Headers({ id: row.eventId, entity: row.entity, action: raw.action, trace: isObject(raw.trace) ? raw.trace : undefined });
}

function checked(row: PendingRow, bytes: Buffer, target: StoredTarget): Buffer {
  if (bytes.byteLength > target.maxPayloadBytes) throw PublishError.payloadTooLarge(row.topic, bytes.byteLength, target.maxPayloadBytes);
  return bytes;
}

function parseObject(payload: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
