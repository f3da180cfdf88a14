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
  hexByte(0, (hi >>> 16) & 0xff);
  hexByte(2, (hi >>> 8) & 0xff);
  hexByte(4, hi & 0xff);
  hexByte(6, (lo >>> 16) & 0xff);
  hexByte(9, (lo >>> 8) & 0xff);
  hexByte(11, lo & 0xff);
  text[8] = text[13] = text[18] = text[23] = 0x2d; // "-"
  hexByte(14, 0x70 | ((seq >>> 28) & 0x0f));
  hexByte(16, (seq >>> 20) & 0xff);
  hexByte(19, 0x80 | ((seq >>> 14) & 0x3f));
  hexByte(21, (seq >>> 6) & 0xff);
  hexByte(24, ((seq << 2) & 0xff) | (r[at]! & 0x03));
  for (let i = 1; i < 6; i++) hexByte(24 + 2 * i, r[at + i]!);
  return text.toString("latin1", 0, 36);
}

/**
 * Builds short ASCII text (ids, traceparents) as bytes, read back once as one flat string:
 * `writeAscii`/`writeHex` append at a position and return the next one, `readText` reads up to it.
 */
export function writeAscii(pos: number, ascii: string): number {
  // A loop, not Buffer#write: these are a few characters, and write's encoding lookup cost more than the copy.
  for (let i = 0; i < ascii.length; i++) text[pos + i] = ascii.charCodeAt(i) & 0xff;
  return pos + ascii.length;
}

/** Appends the hex of `size` bytes of `r` from `at`; see `writeAscii`. */
export function writeHex(pos: number, r: ArrayLike<number>, at: number, size: number): number {
  for (let i = 0; i < size; i++, pos += 2) hexByte(pos, r[at + i]!);
  return pos;
}

/** The text written so far, up to `end`. */
export function readText(end: number): string {
  return text.toString("latin1", 0, end);
}

// The text is written as bytes and read back once as one flat string: concatenating 20 pieces made
// a rope of ~20 objects per id (garbage, and a flattening wherever the id is hashed or matched).
const DIGITS = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  DIGITS[2 * i] = HEX[i]!.charCodeAt(0);
  DIGITS[2 * i + 1] = HEX[i]!.charCodeAt(1);
}
const text = Buffer.alloc(256);

function hexByte(at: number, byte: number): void {
  text[at] = DIGITS[2 * byte]!;
  text[at + 1] = DIGITS[2 * byte + 1]!;
}
