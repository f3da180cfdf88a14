import { randomPool, takeRandom } from "./random.ts";

// The same monotonic rule as uuid's v7 (a counter within one millisecond, RFC 9562 method 1), with
// pooled randomness and the hex written directly: uuid's v7() and stringify cost a copy and two passes.
const state = { msecs: -Infinity, seq: 0 };
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A new time-ordered unique id (UUIDv7, monotonic within a millisecond): the consumers' dedup key. */
export function newId(): string {
  const at = takeRandom(10);
  const r = randomPool;
  const now = Date.now();
  if (now > state.msecs) {
    state.msecs = now;
    // Start the 31-bit counter at a random value below 2^30, leaving room to count up.
    state.seq = ((r[at]! << 22) | (r[at + 1]! << 14) | (r[at + 2]! << 6) | (r[at + 3]! >>> 2)) & 0x3fffffff;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.msecs++;
  }
  return formatV7(state.msecs, state.seq, r, at + 4);
}

/** UUIDv7 text of a millisecond time, a 32-bit counter and 6 random bytes at `r[at..at+5]` (uuid's v7 byte layout). */
export function formatV7(msecs: number, seq: number, r: ArrayLike<number>, at: number): string {
  const hi = Math.floor(msecs / 0x1000000);
  const lo = msecs & 0xffffff;
  return (
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[(lo >>> 16) & 0xff]! +
    "-" +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    "-" +
    HEX[0x70 | ((seq >>> 28) & 0x0f)]! +
    HEX[(seq >>> 20) & 0xff]! +
    "-" +
    HEX[0x80 | ((seq >>> 14) & 0x3f)]! +
    HEX[(seq >>> 6) & 0xff]! +
    "-" +
    HEX[((seq << 2) & 0xff) | (r[at]! & 0x03)]! +
    HEX[r[at + 1]!]! +
    HEX[r[at + 2]!]! +
    HEX[r[at + 3]!]! +
    HEX[r[at + 4]!]! +
    HEX[r[at + 5]!]!
  );
}
