import type { DataEvent } from "../envelope/DataEvent.ts";
import { encode } from "../envelope/codec.ts";
import { routingKey } from "../runtime/Producer.ts";

/**
 * One outbox row, as the migrations define it: `id` (ascending: commit order per key), `event_id`,
 * `entity`, `routing_key` (entity + primary key), `bucket` (hash of the routing key: the unit
 * relays lock), `topic`, `payload` (the event's JSON envelope, redacted), `created_at` and
 * `published_at` (ms since the epoch; null while pending).
 */
export interface OutboxRow {
  id: number;
  event_id: string;
  entity: string;
  routing_key: string;
  bucket: number;
  topic: string;
  payload: string;
  created_at: number;
  published_at: number | null;
}

/** A pending row as the relay reads it. */
export interface PendingRow {
  id: number;
  eventId: string;
  entity: string;
  routingKey: string;
  topic: string;
  /** The event's envelope as `encode` wrote it (JSON with Koper's tags for Dates, bigints, bytes). */
  payload: string;
}

const text = new TextDecoder();

/** The insert params of one event, in the column order of `outboxSql().insert`. */
export function toRow(event: DataEvent, topic: string, buckets: number): unknown[] {
  const key = routingKey(event);
  return [event.id, event.entity, key, bucketOf(key, buckets), topic, text.decode(encode(event)), Date.now(), null];
}

/** A row read back (drivers return BIGINT as a string or a bigint). */
export function fromRow(row: Record<string, unknown>): PendingRow {
  return {
    id: Number(row.id),
    eventId: String(row.event_id),
    entity: String(row.entity),
    routingKey: String(row.routing_key),
    topic: String(row.topic),
    payload: String(row.payload),
  };
}

/** FNV-1a of the routing key, modulo `buckets`: one key always lands in one bucket. */
export function bucketOf(key: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % buckets;
}
