import { connect, type Socket } from "node:net";
import { Reader } from "../src/protocol/Reader.ts";
import { Writer } from "../src/protocol/Writer.ts";

/** Frames a request with header v1 (key, version, correlation id 42, client id "raw"). */
export function frame(apiKey: number, apiVersion: number, body: Buffer = Buffer.alloc(0), correlationId = 42): Buffer {
  const payload = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).string("raw").raw(body).toBuffer();
  return Buffer.from(new Writer().int32(payload.length).raw(payload).toBuffer());
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends one framed request and resolves with the response body after the correlation id. */
export async function request(port: number, bytes: Buffer): Promise<{ correlationId: number; body: Reader }> {
  const socket = await open(port);
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        socket.destroy();
        const reader = new Reader(received.subarray(4, 4 + received.readInt32BE(0)));
        resolve({ correlationId: reader.int32(), body: reader });
      }
    });
    socket.on("close", () => reject(new Error("connection closed before a response")));
    socket.write(bytes);
  });
}

/** Sends bytes and resolves with whatever came back once the broker closes the connection. */
export async function sendUntilClosed(port: number, bytes: Buffer): Promise<Buffer> {
  const socket = await open(port);
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.on("error", () => {});
    socket.on("close", () => resolve(received));
    socket.write(bytes);
  });
}

/** Opens a connection, writes bytes, and leaves it open (the caller destroys it). */
export async function sendAndHold(port: number, bytes: Buffer): Promise<Socket> {
  const socket = await open(port);
  socket.on("error", () => {});
  socket.write(bytes);
  return socket;
}

/** A Fetch v4 request for one partition (default 0) of `topic` from `offset`, not waiting (max_wait 0, min_bytes 1). */
export function fetchV4(topic: string, offset: number, partition = 0): Buffer {
  const w = new Writer().int32(-1).int32(0).int32(1).int32(1 << 20).int8(1);
  w.array([topic], (tw, name) => tw.string(name).array([offset], (pw, o) => pw.int32(partition).int64(o).int32(1 << 20)));
  return frame(1, 4, Buffer.from(w.toBuffer()));
}

/** The first partition of a Fetch v4 response: its error, watermarks and how many record bytes came back. */
export function readFetchV4(body: Reader) {
  body.int32(); // throttle
  const [topic] = body.array((tr) => ({
    name: tr.string(),
    partitions: tr.array((pr) => ({
      index: pr.int32(),
      error: pr.int16(),
      highWatermark: pr.int64(),
      lastStable: pr.int64(),
      aborted: pr.array((ar) => [ar.int64(), ar.int64()]),
      recordBytes: pr.bytes().length,
    })),
  }));
  return topic!.partitions[0]!;
}
