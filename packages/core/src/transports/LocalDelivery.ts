import type { DeliveredMessage, OutgoingMessage } from "./Transport.ts";

/** An in-process delivery of a message that carries its event: its bytes are read (and so made) only if someone asks. */
export class LocalDelivery implements DeliveredMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly event: object;
  readonly partition = 0;
  readonly timestamp: number;
  readonly #message: OutgoingMessage;
  readonly #offset: number;

  constructor(message: OutgoingMessage, offset: number, timestamp: number) {
    this.topic = message.topic;
    this.key = message.key;
    this.event = message.event!;
    this.#offset = offset;
    this.timestamp = timestamp;
    this.#message = message;
  }

  /** The message's headers, from the message (which may write them on first read). */
  get headers(): Record<string, string> {
    return this.#message.headers;
  }

  get offset(): string {
    return String(this.#offset);
  }

  /** The message's bytes, from the message (which encodes them on first read). */
  get value(): Uint8Array {
    return this.#message.value;
  }
}
