import type { Sibling } from "./drafts.ts";
import type { PendingWrite } from "./failures.ts";
import type { SeenWrite } from "./statements.ts";

/** A successful write statement, as the subscriber keeps it. */
export interface LastWrite extends SeenWrite {
  parameters: unknown[] | undefined;
  affected: number | null;
}

/** What the subscriber remembers per QueryRunner, between the hooks of one operation. */
export interface RunnerState {
  /** The last successful write statement: the criteria and count a QueryBuilder after-hook lacks. */
  last: LastWrite | undefined;
  /** The successful write statements of the current operation: what each UPDATE really set. */
  writes: LastWrite[];
  /** Events waiting for a join-column lookup: the runner's later events queue behind them. */
  queue: Promise<void> | undefined;
  /** The writes of the runner's current operation, from its before-hooks (failure tracking only). */
  pending: PendingWrite[];
  /** The entities of the current operation's after-hooks so far: a cascaded child's parents. */
  recent: Sibling[];
  /** The operation's after-hooks began: it succeeded, and its next statement starts another. */
  settled: boolean;
  /** TypeORM announced the current operation's writes (see `KoperSubscriber.announced`). */
  announced: boolean;
}

/** A runner's state before its first operation. */
export function freshState(): RunnerState {
  return { last: undefined, writes: [], queue: undefined, pending: [], recent: [], settled: false, announced: false };
}
