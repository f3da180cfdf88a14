import { quantileOf } from "./stats.ts";

/** Prints one result line, aligned. */
export function report(name: string, value: string): void {
  console.log(`  ${name.padEnd(58)} ${value}`);
}

/** A number with thousands separators. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** p50/p99 of samples in ms, formatted. */
export function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${fmt(quantileOf(sorted, 0.5), 3)} ms, p99 ${fmt(quantileOf(sorted, 0.99), 3)} ms (n=${fmt(sorted.length)})`;
}
