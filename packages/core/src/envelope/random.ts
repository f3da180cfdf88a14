import { randomFillSync } from "node:crypto";

// One call to the CSPRNG per 64 KiB instead of three per event (event, trace and span ids): those calls
// dominated the publish path in profiles.
const POOL_SIZE = 64 * 1024;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** The pool itself, for readers that take bytes by offset (`takeRandom`) instead of copying them. */
export const randomPool: Uint8Array = pool;

/** Where `size` fresh random bytes start in `randomPool` (valid until the next call). */
export function takeRandom(size: number): number {
  return take(size);
}

// Where the next `size` unused bytes of the pool start, refilling it when they would run past its end.
function take(size: number): number {
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += size;
  return offset - size;
}
