// Side-by-side measurement for the ORM benches on a shared machine: modes take turns chunk by
// chunk (the order rotating), so a burst of other load falls on all of them alike; each round
// sums wall time and this process's CPU time per mode, and the ratios printed are medians of the
// per-round ratios, with their interquartile range, so a reader sees how much the run moved.
import { cpus, loadavg } from "node:os";
import { quantileOf } from "./stats.ts";
import { fmt } from "./support.ts";

/** One mode's totals in one round. */
export interface Tally {
  rows: number;
  /** Wall milliseconds. */
  wall: number;
  /** CPU microseconds of this process (user + system; a database server's own CPU is not in it). */
  cpu: number;
}

/**
 * One round: every mode runs `chunks` chunks, taking turns, the order rotating by chunk and by
 * `round`. `chunk` returns how many rows it wrote.
 */
export async function interleavedRound<M extends string>(modes: readonly M[], chunks: number, round: number, chunk: (mode: M, c: number) => Promise<number>): Promise<Record<M, Tally>> {
  const tally = Object.fromEntries(modes.map((mode) => [mode, { rows: 0, wall: 0, cpu: 0 }])) as Record<M, Tally>;
  for (let c = 0; c < chunks; c++) {
    for (let m = 0; m < modes.length; m++) {
      const mode = modes[(m + c + round) % modes.length]!;
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const rows = await chunk(mode, c);
      const wall = performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      const t = tally[mode];
      t.rows += rows;
      t.wall += wall;
      t.cpu += cpu.user + cpu.system;
    }
  }
  return tally;
}

/** Median and quartiles of a list. */
function spread(values: number[]): { median: number; low: number; high: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantileOf(sorted, 0.5), low: quantileOf(sorted, 0.25), high: quantileOf(sorted, 0.75) };
}

/** Rows per second of `mode`: the median round. */
export function rateOf<M extends string>(rounds: Record<M, Tally>[], mode: M): number {
  return spread(rounds.map((r) => r[mode].rows / (r[mode].wall / 1000))).median;
}

/** `ratio 0.91 [0.88–0.94], CPU ratio 0.87 [0.85–0.90]` of `mode` against `base`, round by round. */
export function ratiosOf<M extends string>(rounds: Record<M, Tally>[], mode: M, base: M): string {
  const wall = spread(rounds.map((r) => r[mode].rows / r[mode].wall / (r[base].rows / r[base].wall)));
  const cpu = spread(rounds.map((r) => r[base].cpu / r[base].rows / (r[mode].cpu / r[mode].rows)));
  const show = (s: { median: number; low: number; high: number }) => `${fmt(s.median, 2)} [${fmt(s.low, 2)}–${fmt(s.high, 2)}]`;
  return `ratio ${show(wall)}, CPU ratio ${show(cpu)}`;
}

/** The machine's state, printed with each suite: wall ratios mean little on an overloaded machine. */
export function conditions(): string {
  const [one, five] = loadavg();
  const n = cpus().length;
  const busy = one! > n ? ` — loaded: trust the CPU ratios (this process's CPU per row) over the wall ratios` : "";
  return `load ${fmt(one!, 1)} / ${fmt(five!, 1)} (1 / 5 min) on ${n} CPUs${busy}`;
}
