import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { ApiHandler } from "./context.ts";
import { ApiKey, SUPPORTED_APIS } from "./supported.ts";

const MAX_VERSION = SUPPORTED_APIS.find((api) => api.apiKey === ApiKey.ApiVersions)!.maxVersion;

/** Writes the ApiVersions response in the layout of `version` (v0 layout for the UNSUPPORTED_VERSION fallback). */
export function writeApiVersions(version: number, errorCode: ErrorCode): Writer {
  const writer = new Writer().int16(errorCode);
  writer.array(SUPPORTED_APIS, (w, api) => w.int16(api.apiKey).int16(api.minVersion).int16(api.maxVersion));
  if (version >= 1) writer.int32(0); // throttle_time_ms
  return writer;
}

/**
 * ApiVersions 0–2. A newer (flexible) request, such as librdkafka's opening v3, gets error 35 in
 * the v0 layout, which tells the client to retry with a version from the list.
 */
export const handleApiVersions: ApiHandler = (_ctx, header) =>
  header.apiVersion > MAX_VERSION ? writeApiVersions(0, ErrorCode.UNSUPPORTED_VERSION) : writeApiVersions(header.apiVersion, ErrorCode.NONE);
