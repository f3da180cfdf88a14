import type { DeliveredMessage, OutgoingMessage } from "./Transport.ts";

/** An in-process delivery of a message that carries its event: its bytes are read (and so made) only if someone asks. */
export class LocalDelivery implements DeliveredMessage {
  readonly timestamp: number;
  // Only what the message does not hold: a log may keep many deliveries (retention) alive.
  readonly #message: OutgoingMessage;
  readonly #offset: number;

  constructor(message: OutgoingMessage, offset: number, timestamp: number) {
    this.#message = message;
    this.#offset = offset;
    this.timestamp = timestamp;
  }

  get partition(): number {
    return 0;
  }

  get topic(): string {
    return this.#message.topic;
  }

  get key(): string | null {
    return this.#message.key;
  }

  /** The event the message carries (a transport that delivers in this process keeps it). */
  get event(): object {
    return this.#message.event!;
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
