import { randomHex } from "./random.ts";

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** True when `value` is a W3C traceparent header value. */
export function isTraceparent(value: unknown): value is string {
  return typeof value === "string" && TRACEPARENT.test(value) && !value.includes("-00000000000000000000000000000000-");
}

/** A child span of `parent` (same trace id, new span id), or a new sampled trace when there is none. */
export function childTraceparent(parent?: string): string {
  const spanId = randomHex(8);
  if (parent && isTraceparent(parent)) {
    const [version, traceId, , flags] = parent.split("-");
    return `${version}-${traceId}-${spanId}-${flags}`;
  }
  return `00-${randomHex(16)}-${spanId}-01`;
}
