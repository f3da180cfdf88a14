/**
 * A snapshot Koper made of an event that passed the envelope check: the only kind of
 * `OutgoingMessage.event` a resolver takes without decoding (a wrapper, not a mark on the object:
 * a WeakSet of every event cost more in GC than it saved).
 */
export class LocalEvent {
  /** The event in decoded form; never handed out, only copied. */
  readonly value: object;

  constructor(value: object) {
    this.value = value;
  }
}
