import type { DataEvent } from "../envelope/DataEvent.ts";
import { createLogger } from "../observability/logger.ts";

/** Told when a writer could not write failure events after their transaction ended: why, and which events. */
export type WriterErrorReport = (error: unknown, events: readonly DataEvent[]) => void;

/**
 * The writers' work on failure events, which runs after the application's transaction has ended
 * (`rollback()` returns it, for the adapters that can wait): tracked, so `settled()` waits for it (Koper's
 * `settle()` and `stop()` do), and never rejecting, so a writer's error reaches `report` instead of becoming an unhandled rejection.
 */
export class PendingWrites {
  readonly #pending = new Set<Promise<void>>();
  readonly #report: WriterErrorReport;

  /** `report` defaults to logging to `console` (Koper passes its own report). */
  constructor(report: WriterErrorReport = logWriterError) {
    this.#report = report;
  }

  /** Runs `work` for `events`, tracked; the returned promise resolves when it ended, whatever the outcome. */
  track(events: readonly DataEvent[], work: () => Promise<void>): Promise<void> {
    const run: Promise<void> = work()
      .catch((error: unknown) => this.#reportSafely(error, events))
      .finally(() => this.#pending.delete(run));
    this.#pending.add(run);
    return run;
  }

  /** Resolves once every tracked write, including those started meanwhile, has ended. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  #reportSafely(error: unknown, events: readonly DataEvent[]): void {
    try {
      this.#report(error, events);
    } catch {
      // A throwing reporter must not turn the write into an unhandled rejection.
    }
  }
}

function logWriterError(error: unknown, events: readonly DataEvent[]): void {
  createLogger().error("[koper] the rows of failure events could not be written", { error, ids: events.map((e) => e.id) });
}
