import type { DataEvent } from "./DataEvent.ts";

/** Decides whether a snapshot passes the consumers' envelope check (`isPlainEvent`, `isPlainCaptured`). */
export type EnvelopeCheck = (value: DataEvent) => boolean;

/**
 * A snapshot Koper made of an event, the only kind of `OutgoingMessage.event` a resolver takes
 * without decoding (a wrapper, not a mark on the object: a WeakSet of every event cost more in GC
 * than it saved). The envelope check runs when a consumer first asks (`checked`), not when the
 * event is published: an event nobody in this process consumes never pays for it.
 */
export class LocalEvent {
  /** The event in decoded form; never handed out, only copied. */
  readonly value: object;
  // The check still to run, or its verdict: the snapshot never changes, so one answer holds for every group.
  #verdict: boolean | EnvelopeCheck;

  /** `check`: the envelope check, run on the first `checked()`. */
  constructor(value: object, check: EnvelopeCheck) {
    this.value = value;
    this.#verdict = check;
  }

  /** The event when it passes the envelope check; undefined when not (the consumer then decodes and checks its bytes). */
  checked(): DataEvent | undefined {
    let verdict = this.#verdict;
    if (typeof verdict === "function") this.#verdict = verdict = verdict(this.value as DataEvent);
    return verdict ? (this.value as DataEvent) : undefined;
  }
}
