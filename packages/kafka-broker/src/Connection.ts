import type { Socket } from "node:net";
import type { DispatchResult } from "./apis/dispatch.ts";
import { ProtocolError } from "./errors.ts";

/**
 * One client connection: splits the byte stream into size-prefixed frames, starts handling each
 * as it arrives (so a heartbeat refreshes its session even behind a long-polling fetch), and
 * writes responses strictly in request order, which kafka-python and librdkafka rely on.
 */
export class Connection {
  private pending: Buffer = Buffer.alloc(0);
  private responses: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly handle: (frame: Buffer) => Promise<DispatchResult>,
    private readonly maxFrameBytes: number,
    private readonly log: (line: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    // Peers vanish mid-test all the time; an error only ends this connection.
    socket.on("error", () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4 && !this.socket.destroyed) {
      const size = this.pending.readInt32BE(0);
      if (size < 8 || size > this.maxFrameBytes) {
        // Smaller than a request header or larger than the limit: the stream cannot be trusted.
        this.log(ProtocolError.frameTooLarge(size, this.maxFrameBytes).message);
        this.socket.destroy();
        return;
      }
      if (this.pending.length < 4 + size) return;
      // Copied so the frame does not pin the whole receive buffer while a fetch long-polls.
      const frame = Buffer.from(this.pending.subarray(4, 4 + size));
      this.pending = this.pending.subarray(4 + size);
      this.enqueue(frame);
    }
  }

  private enqueue(frame: Buffer): void {
    const result = this.handle(frame).catch((): DispatchResult => "close");
    this.responses = this.responses.then(async () => {
      const outcome = await result;
      if (this.socket.destroyed) return;
      if (outcome === "close") this.socket.destroy();
      else if (outcome !== "no-response") this.socket.write(outcome);
    });
  }

  /** Closes the socket at once. */
  close(): void {
    this.socket.destroy();
  }
}
