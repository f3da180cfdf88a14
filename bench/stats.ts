/** The q-quantile of ascending samples (nearest rank). */
export function quantileOf(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  return quantileOf([...values].sort((a, b) => a - b), 0.5);
}
