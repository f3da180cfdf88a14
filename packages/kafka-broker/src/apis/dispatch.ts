import { ProtocolError } from "../errors.ts";
import { Reader } from "../protocol/Reader.ts";
import type { BrokerContext, RequestHeader } from "./context.ts";
import { HANDLERS } from "./registry.ts";
import { ApiKey, SUPPORTED_APIS } from "./supported.ts";

/** What to do with one request frame: send these chunks in order, send nothing (acks=0), or close the connection. */
export type DispatchResult = Buffer[] | "no-response" | "close";

function readHeader(reader: Reader, clientHost: string): RequestHeader {
  return { apiKey: reader.int16(), apiVersion: reader.int16(), correlationId: reader.int32(), clientId: reader.string(), clientHost };
}

function isServed(header: RequestHeader): boolean {
  // ApiVersions answers any version itself (error 35 in the v0 layout), so clients can step down.
  if (header.apiKey === ApiKey.ApiVersions) return header.apiVersion >= 0;
  const range = SUPPORTED_APIS.find((api) => api.apiKey === header.apiKey);
  return range !== undefined && header.apiVersion >= range.minVersion && header.apiVersion <= range.maxVersion;
}

/**
 * Decodes one request frame (without its length prefix) and runs its handler. Anything that cannot
 * be answered in the request's own layout (bad header, unknown key or version, truncated body)
 * closes the connection, as Kafka does; a handler bug never escapes to the server.
 */
export async function dispatch(ctx: BrokerContext, frame: Buffer, log: (line: string) => void, clientHost = ""): Promise<DispatchResult> {
  const reader = new Reader(frame);
  let header: RequestHeader;
  try {
    header = readHeader(reader, clientHost);
  } catch (error) {
    log(`closing connection: unreadable request header (${(error as Error).message})`);
    return "close";
  }
  if (!isServed(header)) {
    log(ProtocolError.unsupported(header.apiKey, header.apiVersion).message);
    return "close";
  }
  try {
    // ApiVersions v3+ has a flexible body this broker does not decode; the handler does not need it.
    const body = await HANDLERS.get(header.apiKey)!(ctx, header, reader);
    if (body === null) return "no-response";
    const head = Buffer.allocUnsafe(8);
    head.writeInt32BE(body.size + 4, 0);
    head.writeInt32BE(header.correlationId, 4);
    return [head, ...body.toChunks()];
  } catch (error) {
    log(`closing connection: API ${header.apiKey} v${header.apiVersion} failed (${(error as Error).message})`);
    return "close";
  }
}
