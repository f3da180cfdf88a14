import type { DeliveredMessage, OutgoingMessage } from "./Transport.ts";

/** An in-process delivery of a message that carries its event: its bytes are read (and so made) only if someone asks. */
export class LocalDelivery implements DeliveredMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly event: object;
  readonly partition = 0;
  readonly offset: string;
  readonly timestamp: number;
  readonly #message: OutgoingMessage;

  constructor(message: OutgoingMessage, offset: string, timestamp: number) {
    this.topic = message.topic;
    this.key = message.key;
    this.headers = message.headers;
    this.event = message.event!;
    this.offset = offset;
    this.timestamp = timestamp;
    this.#message = message;
  }

  /** The message's bytes, from the message (which encodes them on first read). */
  get value(): Uint8Array {
    return this.#message.value;
  }
}
