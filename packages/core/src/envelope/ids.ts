import { v7 } from "uuid";
import { randomBytesPooled } from "./random.ts";

// uuid's own v7 state draws 16 fresh bytes from the OS per id; with pooled randomness we keep
// the same monotonic rule (a counter within one millisecond, RFC 9562 method 1) ourselves.
const state = { msecs: -Infinity, seq: 0 };

/** A new time-ordered unique id (UUIDv7, monotonic within a millisecond): the consumers' dedup key. */
export function newId(): string {
  const random = randomBytesPooled(16);
  const now = Date.now();
  if (now > state.msecs) {
    state.msecs = now;
    // Start the 31-bit counter at a random value below 2^30, leaving room to count up.
    state.seq = ((random[6]! << 22) | (random[7]! << 14) | (random[8]! << 6) | (random[9]! >>> 2)) & 0x3fffffff;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.msecs++;
  }
  return v7({ random, msecs: state.msecs, seq: state.seq });
}
