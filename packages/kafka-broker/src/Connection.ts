import type { Socket } from "node:net";
import type { DispatchResult } from "./apis/dispatch.ts";
import { FrameReader } from "./FrameReader.ts";

/** Per-connection limits, from the broker options. */
export interface ConnectionLimits {
  /** Largest request frame accepted (`socket.request.max.bytes`). */
  readonly maxFrameBytes: number;
  /** Response bytes queued for the client beyond which its requests are no longer read. */
  readonly maxQueuedBytes: number;
  /** A connection with nothing running and no traffic for this long is closed (`connections.max.idle.ms`). */
  readonly idleMs: number;
}

/** What one connection holds right now, for tests and diagnostics. */
export interface ConnectionStats {
  /** Response bytes written to the socket and not yet taken by the client, plus ready responses not yet written. */
  readonly queuedBytes: number;
  /** Requests read but not started because the client is not reading its responses. */
  readonly heldRequests: number;
  /** Requests being handled (long polls, joins waiting for a rebalance). */
  readonly runningRequests: number;
  /** Whether reading from this client is paused (backpressure). */
  readonly paused: boolean;
}

/**
 * One client connection: assembles size-prefixed frames (each byte copied once), starts handling
 * each as it arrives (so a heartbeat refreshes its session even behind a long-polling fetch), and
 * writes responses strictly in request order, which kafka-python and librdkafka rely on. A client
 * that does not read its responses stops being read from once `maxQueuedBytes` wait for it, and a
 * connection idle for `idleMs` is closed.
 */
export class Connection {
  private readonly frames: FrameReader;
  private responses: Promise<void> = Promise.resolve();
  private readonly held: Buffer[] = [];
  private readyBytes = 0;
  private running = 0;

  constructor(
    private readonly socket: Socket,
    private readonly handle: (frame: Buffer) => Promise<DispatchResult>,
    private readonly limits: ConnectionLimits,
    private readonly log: (line: string) => void,
  ) {
    this.frames = new FrameReader(limits.maxFrameBytes);
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleMs);
    socket.on("timeout", () => this.onIdle());
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.release());
    // Peers vanish mid-test all the time; an error only ends this connection.
    socket.on("error", () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    const frames = this.frames.push(chunk);
    if (typeof frames === "string") {
      // Smaller than a request header or larger than the limit: the stream cannot be trusted.
      this.log(frames);
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (this.socket.destroyed) return;
      if (this.held.length > 0 || this.overLimit()) this.hold(frame);
      else this.start(frame);
    }
  }

  private overLimit(): boolean {
    return this.socket.writableLength + this.readyBytes > this.limits.maxQueuedBytes;
  }

  // Backpressure: read nothing more from this client until what it was sent drains.
  private hold(frame: Buffer): void {
    this.held.push(frame);
    this.socket.pause();
  }

  private release(): void {
    while (this.held.length > 0 && !this.overLimit() && !this.socket.destroyed) this.start(this.held.shift()!);
    if (this.held.length === 0 && !this.socket.destroyed) this.socket.resume();
  }

  private start(frame: Buffer): void {
    this.running += 1;
    const result = this.handle(frame)
      .catch((): DispatchResult => "close")
      .then((outcome) => {
        this.running -= 1;
        this.readyBytes += sizeOf(outcome);
        return outcome;
      });
    this.responses = this.responses.then(async () => {
      const outcome = await result;
      this.readyBytes -= sizeOf(outcome);
      if (this.socket.destroyed) return;
      if (outcome === "close") this.socket.destroy();
      else if (outcome !== "no-response") this.write(outcome);
    });
  }

  // Chunks may be slices of the log (zero-copy fetch); the socket keeps references, not copies.
  private write(chunks: Buffer[]): void {
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
    if (!this.overLimit()) this.release();
  }

  private onIdle(): void {
    // A long-polling fetch or a join waiting for a rebalance is not idleness.
    if (this.running > 0) return;
    this.log(`closing connection idle for ${this.limits.idleMs} ms (connections.max.idle.ms)`);
    this.socket.destroy();
  }

  /** What the connection holds right now. */
  stats(): ConnectionStats {
    return {
      queuedBytes: this.socket.writableLength + this.readyBytes,
      heldRequests: this.held.length,
      runningRequests: this.running,
      paused: this.socket.isPaused(),
    };
  }

  /** Closes the socket at once. */
  close(): void {
    this.socket.destroy();
  }
}

function sizeOf(outcome: DispatchResult): number {
  if (typeof outcome === "string") return 0;
  let total = 0;
  for (const chunk of outcome) total += chunk.length;
  return total;
}
