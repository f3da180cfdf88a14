import type { DeliveredMessage, OutgoingMessage } from "@koper/core";
import type { IHeaders, KafkaMessage, Message } from "kafkajs";

/** A Koper message as kafkajs sends it: bytes shared, not copied. */
export function toKafkaMessage(message: OutgoingMessage): Message {
  const { value } = message;
  return {
    key: message.key,
    value: Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    headers: message.headers,
  };
}

/** A message kafkajs fetched, as core's listener runtime takes it. */
export function toDeliveredMessage(topic: string, partition: number, message: KafkaMessage): DeliveredMessage {
  return {
    topic,
    partition,
    key: message.key === null ? null : message.key.toString("utf8"),
    // A tombstone (null value) is delivered as empty bytes: the runtime's decoder reports it.
    value: message.value ?? new Uint8Array(0),
    headers: headersOf(message.headers),
    offset: message.offset,
    timestamp: Number(message.timestamp),
  };
}

// Kafka allows repeated header keys; Koper's headers are a map, so the last value wins, as in Java's lastHeader().
function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  // for…in, not Object.entries: this runs for every header of every message (hot path).
  for (const name in headers) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) out[name] = typeof value === "string" ? value : value.toString("utf8");
  }
  return out;
}
