/** The stages whose latency Koper measures, between consecutive time points of an event. */
export type Stage = "commit" | "publish" | "deliver" | "handle" | "total";

/** Latency of one stage, in milliseconds over the last samples. */
export interface StageLatency {
  count: number;
  p50: number;
  p99: number;
}

/** What `koper.metrics()` returns. */
export interface MetricsSnapshot {
  published: number;
  publishFailed: number;
  handled: number;
  retried: number;
  deadLettered: number;
  ignored: number;
  deduplicated: number;
  dropped: number;
  latency: Record<Stage, StageLatency>;
}

type Counter = Exclude<keyof MetricsSnapshot, "latency">;

const STAGES: Stage[] = ["commit", "publish", "deliver", "handle", "total"];

/** Counts and a sliding reservoir of latencies per stage (the last `window` samples). */
export class Metrics {
  readonly #counts: Record<Counter, number> = {
    published: 0,
    publishFailed: 0,
    handled: 0,
    retried: 0,
    deadLettered: 0,
    ignored: 0,
    deduplicated: 0,
    dropped: 0,
  };
  // A plain record per stage, not Maps: five latencies are recorded per event.
  readonly #stages = {} as Record<Stage, { samples: Float64Array; seen: number }>;
  readonly #window: number;

  constructor(window = 4096) {
    this.#window = window;
    for (const stage of STAGES) this.#stages[stage] = { samples: new Float64Array(window), seen: 0 };
  }

  /** Adds `n` to a counter. */
  count(counter: Counter, n = 1): void {
    this.#counts[counter] += n;
  }

  /** Records the time between two time points, when both are known. */
  latency(stage: Stage, from: number | undefined, to: number | undefined): void {
    if (from === undefined || to === undefined) return;
    const record = this.#stages[stage];
    record.samples[record.seen % this.#window] = Math.max(0, to - from);
    record.seen++;
  }

  /** A copy of the counters and percentiles now. */
  snapshot(): MetricsSnapshot {
    const latency = {} as Record<Stage, StageLatency>;
    for (const stage of STAGES) latency[stage] = this.#percentiles(stage);
    return { ...this.#counts, latency };
  }

  #percentiles(stage: Stage): StageLatency {
    const { samples, seen } = this.#stages[stage];
    const n = Math.min(seen, this.#window);
    if (n === 0) return { count: 0, p50: 0, p99: 0 };
    const sorted = samples.slice(0, n).sort();
    return { count: seen, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  }
}

/** The q-quantile of sorted samples (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
