import { encode } from "../envelope/codec.ts";
import type { LocalEvent } from "../envelope/LocalEvent.ts";
import type { DataEvent } from "../envelope/DataEvent.ts";
import type { OutgoingMessage } from "../transports/Transport.ts";
import { v1Headers } from "../envelope/wire.ts";

/**
 * A data event's message for a transport that delivers in this process: it carries the event's
 * snapshot, and encodes it only when something reads `value` (a dead letter, `MessageMeta.raw`,
 * a `@Listen` listener on a data topic). The snapshot is never handed out, so the bytes are the
 * event as it was published.
 */
export class LocalMessage implements OutgoingMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly event: LocalEvent;
  #value: Uint8Array | undefined;
  #headers: Record<string, string> | undefined;

  /** `headers`: when the caller has them already (an outbox row's); else written from the event on first read. */
  constructor(topic: string, key: string | null, event: LocalEvent, value?: Uint8Array, headers?: Record<string, string>) {
    this.topic = topic;
    this.key = key;
    this.event = event;
    this.#value = value;
    this.#headers = headers;
  }

  /** The event's headers, written on first read: the in-process path reads them only for dead letters and `meta`. */
  get headers(): Record<string, string> {
    return (this.#headers ??= v1Headers(this.#snapshot));
  }

  // The snapshot the event carries (whether or not it passes the envelope check).
  get #snapshot(): DataEvent {
    return this.event.value as DataEvent;
  }

  /** The encoded event, made on first read. */
  get value(): Uint8Array {
    return (this.#value ??= encode(this.#snapshot));
  }
}
