import { ProtocolError } from "./errors.ts";

// The int32 size prefix of every frame.
const HEADER_BYTES = 4;

/**
 * Splits a TCP byte stream into size-prefixed Kafka frames. Chunks are collected and each frame
 * is joined once, when its last byte arrives, so a frame of N bytes costs O(N) copying however
 * many chunks it came in (appending every chunk to the pending bytes cost O(N²)).
 */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet returned as frames. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Takes a chunk; returns the frames it completed (without their size prefix), or why the stream is refused. */
  push(chunk: Buffer): Buffer[] | string {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < HEADER_BYTES) return frames;
        const size = this.take(HEADER_BYTES).readInt32BE(0);
        if (size < 8 || size > this.maxFrameBytes) return ProtocolError.frameTooLarge(size, this.maxFrameBytes).message;
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) return frames;
      frames.push(this.take(this.frameSize));
      this.frameSize = -1;
    }
  }

  // Removes `n` buffered bytes into a new buffer: one copy of each byte, and the frame pins no receive chunk.
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const head = this.chunks[0]!;
      const count = Math.min(n - at, head.length);
      head.copy(out, at, 0, count);
      at += count;
      if (count === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(count);
    }
    this.buffered -= n;
    return out;
  }
}
