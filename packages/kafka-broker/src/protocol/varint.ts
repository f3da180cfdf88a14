/** Zig-zag varints as used inside magic-2 records. */

/** Appends a zig-zag varint (safe up to 2^53) to `out`. */
export function writeVarint(out: number[], value: number): void {
  // Zig-zag in BigInt so varlong timestamps do not overflow 32-bit bit operations.
  let zigzag = value >= 0 ? BigInt(value) * 2n : BigInt(-value) * 2n - 1n;
  while (zigzag >= 0x80n) {
    out.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  out.push(Number(zigzag));
}

/** Reads a zig-zag varint at `state.offset` from `bytes`, advancing the offset. */
export function readVarint(bytes: Uint8Array, state: { offset: number }): number {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (state.offset >= bytes.length || shift > 63n) throw new RangeError("Truncated or overlong varint in record");
    const byte = bytes[state.offset++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7n;
  }
  return Number(result & 1n ? -((result + 1n) >> 1n) : result >> 1n);
}
