import { CliError } from "./errors.ts";

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A `--since`/`--until` value as epoch ms: a duration back from `now` (15m, 1h, 2d) or an ISO date. */
export function parseTime(value: string, now: number): number {
  const duration = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(value.trim());
  if (duration) return now - Number(duration[1]) * UNITS[duration[2]!]!;
  const date = Date.parse(value);
  if (Number.isNaN(date)) throw CliError.invalidDuration(value);
  return date;
}

/** An instant as the tables print it: UTC, to the second. */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return "";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}
