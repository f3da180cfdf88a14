import { readText, writeAscii, writeHex } from "./ids.ts";
import { randomPool, takeRandom } from "./random.ts";

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** True when `value` is a W3C traceparent header value. */
export function isTraceparent(value: unknown): value is string {
  return typeof value === "string" && TRACEPARENT.test(value) && !value.includes("-00000000000000000000000000000000-");
}

/** A child span of `parent` (same trace id, new span id), or a new sampled trace when there is none. */
export function childTraceparent(parent?: string): string {
  if (parent && isTraceparent(parent)) {
    // version-traceid- of the parent, a new span id, -flags of the parent
    const end = writeAscii(0, parent.slice(0, 36));
    return readText(writeAscii(writeHex(end, randomPool, takeRandom(8), 8), parent.slice(52)));
  }
  const at = takeRandom(24);
  const traceId = writeHex(writeAscii(0, "00-"), randomPool, at, 16);
  return readText(writeAscii(writeHex(writeAscii(traceId, "-"), randomPool, at + 16, 8), "-01"));
}
