import { encode } from "../envelope/codec.ts";
import { LocalEvent } from "../envelope/LocalEvent.ts";
import type { OutgoingMessage } from "../transports/Transport.ts";

/**
 * A data event's message for a transport that delivers in this process: it carries the event's
 * snapshot, and encodes it only when something reads `value` (a dead letter, `MessageMeta.raw`,
 * a `@Listen` listener on a data topic). The snapshot is never handed out, so the bytes are the
 * event as it was published.
 */
export class LocalMessage implements OutgoingMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly event: object;
  #value: Uint8Array | undefined;

  constructor(topic: string, key: string | null, headers: Record<string, string>, event: object, value?: Uint8Array) {
    this.topic = topic;
    this.key = key;
    this.headers = headers;
    this.event = event;
    this.#value = value;
  }

  /** The encoded event, made on first read. */
  get value(): Uint8Array {
    return (this.#value ??= encode(this.event instanceof LocalEvent ? this.event.value : this.event));
  }
}
