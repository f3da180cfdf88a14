import { InProcessTransport, type OutgoingMessage } from "@koper/core";

/** An in-process transport that keeps a copy of every message Koper hands it: data events and dead letters alike. */
export class RecordingTransport extends InProcessTransport {
  readonly sent: OutgoingMessage[] = [];

  override send(messages: OutgoingMessage[]): Promise<void> {
    this.sent.push(...messages.map((m) => ({ ...m, value: Uint8Array.from(m.value), headers: { ...m.headers } })));
    return super.send(messages);
  }

  /** Every message as one string: topic, key, headers and the decoded value. */
  texts(): string[] {
    return this.sent.map((m) => `${m.topic} ${m.key ?? ""} ${JSON.stringify(m.headers)} ${new TextDecoder().decode(m.value)}`);
  }

  /** The published messages that carry `value` anywhere. */
  carrying(value: string): string[] {
    return this.texts().filter((text) => text.includes(value));
  }
}
