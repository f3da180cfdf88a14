import type { OutgoingMessage } from "@koper/core";

/** Builds one chunk: takes its messages in order, then is ended with their approximate size. */
export interface ChunkBuilder<C> {
  add(message: OutgoingMessage): void;
  end(bytes: number): C;
}

/**
 * Splits `messages` into consecutive runs of at most `maxBytes` (a bigger message goes alone), each
 * built by a fresh `start()`. Sent one after another, each partition's batch stays under
 * message.max.bytes and a key's messages keep their order. One pass: sizing and the transport's own
 * conversion together (this runs for every message sent).
 */
export function chunksOf<C>(messages: readonly OutgoingMessage[], maxBytes: number, start: () => ChunkBuilder<C>): C[] {
  const chunks: C[] = [];
  let chunk = start();
  let count = 0;
  let bytes = 0;
  for (const message of messages) {
    const size = sizeOf(message);
    if (count > 0 && bytes + size > maxBytes) {
      chunks.push(chunk.end(bytes));
      chunk = start();
      count = 0;
      bytes = 0;
    }
    chunk.add(message);
    count++;
    bytes += size;
  }
  chunks.push(chunk.end(bytes));
  return chunks;
}

// What a message adds to a record batch, near enough: key, value, headers and ~20 bytes of framing.
function sizeOf(message: OutgoingMessage): number {
  let size = 20 + message.value.byteLength + (message.key === null ? 0 : Buffer.byteLength(message.key));
  for (const name in message.headers) size += name.length + Buffer.byteLength(message.headers[name]!) + 2;
  return size;
}
