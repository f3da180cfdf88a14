import { ConfigError } from "../errors.ts";

/** How a throwing handler is retried before its message goes to the dead letter. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3 (so 4 attempts). */
  retries?: number;
  /** Delay before the first retry. Default 100 ms. */
  initialDelayMs?: number;
  /** Cap of the growing delay. Default 10,000 ms. */
  maxDelayMs?: number;
  /** Growth of the delay per retry. Default 2. */
  factor?: number;
  /** Random spread of each delay, 0..1 (as kafkajs's randomizationFactor). Default 0.2. */
  jitter?: number;
}

/** Exponential backoff with jitter, resolved from options. */
export class RetryPolicy {
  readonly retries: number;
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;

  constructor(options: RetryOptions = {}) {
    this.retries = nonNegative("retry.retries", options.retries ?? 3);
    this.#initial = nonNegative("retry.initialDelayMs", options.initialDelayMs ?? 100);
    this.#max = nonNegative("retry.maxDelayMs", options.maxDelayMs ?? 10_000);
    this.#factor = nonNegative("retry.factor", options.factor ?? 2);
    this.#jitter = Math.min(1, nonNegative("retry.jitter", options.jitter ?? 0.2));
  }

  /** Delay before retry number `retry` (1-based). */
  delay(retry: number): number {
    const base = Math.min(this.#max, this.#initial * this.#factor ** (retry - 1));
    const spread = base * this.#jitter;
    return Math.max(0, Math.round(base - spread + Math.random() * 2 * spread));
  }

  /** Whether an error may be retried: errors that say `retriable: false` go straight to the dead letter. */
  static isRetriable(error: unknown): boolean {
    return !(typeof error === "object" && error !== null && (error as { retriable?: unknown }).retriable === false);
  }
}

function nonNegative(option: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw ConfigError.invalidOption(option, `expected a number ≥ 0, got ${value}`);
  return value;
}
