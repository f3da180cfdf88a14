import { randomFillSync } from "node:crypto";

// One call to the CSPRNG per 64 KiB instead of three per event (event, trace and span ids): those calls
// dominated the publish path in profiles.
const POOL_SIZE = 64 * 1024;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` cryptographically random bytes (a fresh copy, from a refilled pool). */
export function randomBytesPooled(size: number): Uint8Array {
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = new Uint8Array(size);
  out.set(pool.subarray(offset, offset + size));
  offset += size;
  return out;
}

/** `size` random bytes as lowercase hex. */
export function randomHex(size: number): string {
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + size);
  offset += size;
  return hex;
}
