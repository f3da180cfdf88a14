import type { DataEvent, EventError } from "../envelope/DataEvent.ts";
import { CaptureError } from "../errors.ts";
import { buildEvent, now, type BuildOptions, type ChangeDraft } from "./build-event.ts";
import { toEventError, type DriverErrorInfo } from "./database-errors.ts";
import type { InTransactionWriter, SqlClient, TxExecutor } from "./in-transaction.ts";
import { PendingWrites, type WriterErrorReport } from "./pending-writes.ts";

/** Where the capture hands finished events: Koper's producer. */
export interface CaptureSink {
  /** Publishes committed or failure events; never rejects (failures are reported by the sink). */
  publish(events: DataEvent[]): Promise<void>;
  /** Reports events dropped because their transaction cannot have committed. */
  dropped(events: DataEvent[], reason: "poisoned"): void;
}

/** Options of a ChangeCapture: how events are built, and who hears of failure rows that could not be written. */
export interface CaptureOptions extends BuildOptions {
  /** Told when a writer (the audit) could not write failure events; default: logged to `console`. Koper reports them. */
  onWriterError?: WriterErrorReport | undefined;
}

/** The transaction handle an adapter supplies: any object that identifies one transaction. */
export type TxHandle = object;

interface Frame {
  events: DataEvent[];
  poisoned: boolean;
  /** The handle that opened this level: the transaction's own, or a savepoint's (`begin(sp, { parent })`). */
  handle: TxHandle;
  /** Set by `beforeCommit`: the events were stamped and handed to the writers. */
  handedOff?: boolean;
  /** How many of `events` a writer took over publishing (the outbox): `commit()` skips them. */
  taken?: number;
}

interface Registered {
  writer: InTransactionWriter;
  client: SqlClient;
}

/** How `begin` links a level to what is already open. */
export interface BeginOptions {
  /**
   * The open transaction (or savepoint) this one is nested in, for ORMs that give each savepoint,
   * or each flush inside a transaction, an object of its own (MikroORM). The new handle then opens
   * a savepoint level of the parent's transaction: its events publish at the outermost commit, not
   * at its own. Without it, `begin` on a handle already open opens a savepoint on it (TypeORM's
   * QueryRunner).
   */
  parent?: TxHandle | undefined;
}

interface TxState {
  frames: Frame[];
  /** Failure events of this transaction, for the writers once it has ended (see `fail`). */
  failed?: DataEvent[] | undefined;
  /** The writers' work on `failed`, once the transaction ended. */
  failuresWritten?: Promise<void> | undefined;
}

/**
 * The ORM-independent half of every adapter: buffers events per transaction, with a stack of
 * savepoints, and publishes them when the outermost transaction commits. Adapters only translate
 * their ORM's hooks into these calls.
 */
export class ChangeCapture {
  readonly #open = new WeakMap<TxHandle, TxState>();
  readonly #sink: CaptureSink;
  readonly #options: BuildOptions;
  readonly #writers: Registered[] = [];
  readonly #pending: PendingWrites;

  constructor(sink: CaptureSink, options: CaptureOptions = {}) {
    this.#sink = sink;
    this.#options = options;
    this.#pending = new PendingWrites(options.onWriterError);
  }

  /**
   * Resolves once the writers have written (or reported that they could not write) every failure
   * event handed to them so far, also those of transactions that ended by `rollback()`.
   */
  settled(): Promise<void> {
    return this.#pending.settled();
  }

  /**
   * Adds a writer (outbox, audit) that gets every committing transaction's events inside that
   * transaction (`beforeCommit`); `client` is where it writes events that have no transaction
   * (failures, and autocommit writes an adapter could not wrap).
   */
  use(writer: InTransactionWriter, client: SqlClient): void {
    this.#writers.push({ writer, client });
  }

  /** True once a writer is configured: adapters then wrap autocommit writes in a transaction of their own. */
  get writesInTransaction(): boolean {
    return this.#writers.length > 0;
  }

  /**
   * Opens a transaction on `tx`, or a savepoint when one is already open on it, or when
   * `options.parent` names an open transaction (a parent that is not open, whose start was never
   * seen, leaves `tx` a transaction of its own).
   */
  begin(tx: TxHandle, options?: BeginOptions): void {
    let state = this.#open.get(tx) ?? (options?.parent ? this.#open.get(options.parent) : undefined);
    const frame: Frame = { events: [], poisoned: false, handle: tx };
    // A new transaction's stack is made with its one level (a push onto [] reserves room for 16).
    if (state) state.frames.push(frame);
    else state = { frames: [frame] };
    this.#open.set(tx, state);
  }

  /** How many levels are open on `tx`: 0 none, 1 a transaction, more for savepoints. */
  depth(tx: TxHandle | undefined): number {
    return tx ? (this.#open.get(tx)?.frames.length ?? 0) : 0;
  }

  /** Records a write: buffered when `tx` is open, published at once otherwise (autocommit). */
  // Not async: a write inside a transaction (the common case) only buffers, and returns a settled promise.
  record(tx: TxHandle | undefined, draft: ChangeDraft): Promise<void> {
    return this.recordBuffered(tx, draft) ?? DONE;
  }

  /**
   * `record` for adapters that record a write per row: returns nothing when the event was only
   * buffered (`tx` is open), so the common case allocates no promise (and the adapter no `.catch`).
   * Otherwise returns what `record` would: the autocommit publish, or the rejection of a draft
   * that could not be built (in a transaction too).
   */
  recordBuffered(tx: TxHandle | undefined, draft: ChangeDraft): Promise<void> | undefined {
    try {
      const state = tx ? this.#open.get(tx) : undefined;
      const event = place(state, buildEvent(draft, UNPLACED, this.#options));
      if (state) {
        top(state).events.push(event);
        return undefined;
      }
      event.time.committed = event.time.occurred;
      return this.#writers.length > 0 ? this.#commitUnhanded([event]) : this.#sink.publish([event]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes the failure event of a write that the database refused. It is published at once:
   * the attempt happened whatever becomes of the transaction around it. It stands alone, as
   * `{ id: its own id, position: 0 }`: the transaction's id is its first committed event's, not
   * known yet (and never, if it rolls back), so a failure can never share a committed event's place.
   */
  async fail(_tx: TxHandle | undefined, draft: ChangeDraft, error: unknown, info?: DriverErrorInfo): Promise<void> {
    const eventError: EventError = toEventError(error, info);
    const events = [place(undefined, buildEvent(draft, UNPLACED, this.#options, eventError))];
    await this.#sink.publish(events);
    // Inside an open transaction the writers get the failure once it has ended: on a single-connection
    // database (SQLite) a transaction of their own would otherwise nest in, and roll back with, the app's.
    const state = _tx ? this.#open.get(_tx) : undefined;
    if (state) return void (state.failed ??= []).push(...events);
    await this.#writeFailed(events);
  }

  /**
   * Marks the innermost open level as poisoned: a statement failed in it, so (on PostgreSQL) the
   * transaction's COMMIT will really be a ROLLBACK. Rolling back that savepoint clears the mark.
   */
  poison(tx: TxHandle): void {
    const state = this.#open.get(tx);
    if (state) top(state).poisoned = true;
  }

  /** True when `tx` is open and a level of it is poisoned. */
  isPoisoned(tx: TxHandle): boolean {
    return this.#open.get(tx)?.frames.some((frame) => frame.poisoned) ?? false;
  }

  /**
   * The handoff to the in-transaction writers, called by the adapter in its ORM's before-COMMIT hook
   * with an executor on that transaction. At the outermost level only (a savepoint's release is a
   * no-op), and once: stamps the events with their final places and passes them to every writer;
   * a writer that takes over publishing (the outbox) marks them taken, so `commit()` does not publish
   * them. A poisoned transaction writes nothing (its COMMIT is a ROLLBACK). A writer's error rejects:
   * the adapter lets it reach the ORM, which then rolls the transaction back.
   */
  async beforeCommit(tx: TxHandle, executor: TxExecutor): Promise<void> {
    const state = this.#open.get(tx);
    if (!state || this.#writers.length === 0 || !isOutermost(state, tx)) return;
    while (state.frames.length > 1) mergeDown(state, this.#pop(state));
    const frame = top(state);
    if (frame.handedOff || frame.poisoned || frame.events.length === 0) return;
    frame.handedOff = true;
    const events = stampCommitted(frame.events);
    for (const { writer } of this.#writers) await writer.write(events, executor);
    if (this.#writers.some((r) => r.writer.takesOverPublishing)) frame.taken = events.length;
  }

  /**
   * Commits the innermost level of `tx`: a savepoint merges into its parent; the outermost
   * publishes. Levels opened inside it by other handles and never ended (MariaDB fires no event on
   * RELEASE SAVEPOINT) were released with it: they merge first.
   */
  commit(tx: TxHandle): Promise<void> {
    // Not async: the outermost commit hands its events to the producer, which resolves at once.
    try {
      return this.#commit(tx) ?? DONE;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #commit(tx: TxHandle): Promise<void> | undefined {
    const state = this.#open.get(tx);
    if (!state) throw CaptureError.noOpenTransaction("commit");
    while (top(state).handle !== tx) mergeDown(state, this.#pop(state));
    const frame = this.#pop(state);
    if (state.frames.length > 0) return void mergeDown(state, frame);
    if (frame.events.length === 0) return;
    if (frame.poisoned) return void this.#sink.dropped(frame.events, "poisoned");
    if (!frame.handedOff) return this.#commitUnhanded(stampCommitted(frame.events));
    for (const { writer } of this.#writers) writer.afterCommit?.(frame.events);
    const rest = frame.events.slice(frame.taken ?? 0);
    if (rest.length > 0) return this.#sink.publish(rest);
  }

  // A commit whose ORM offered no before-COMMIT hook (a Prisma batch, a multi-row autocommit call):
  // with writers configured, their rows go in a transaction of their own, just after.
  #commitUnhanded(events: DataEvent[]): Promise<void> {
    if (this.#writers.length === 0) return this.#sink.publish(events);
    return this.#writeAlone(events).then((taken) => (taken ? undefined : this.#sink.publish(events)));
  }

  /**
   * Rolls back the innermost level of `tx` (and the levels opened inside it), dropping only their events.
   * When that ends the transaction, its failure events go to the writers: the returned promise resolves
   * once they are written (or the error reported; it never rejects). An adapter awaits it where its ORM
   * has released the transaction's connection; `settled()` waits for it in any case.
   */
  rollback(tx: TxHandle): Promise<void> {
    const state = this.#open.get(tx);
    if (!state) return DONE;
    while (top(state).handle !== tx) this.#pop(state);
    this.#pop(state);
    return state.frames.length === 0 ? (state.failuresWritten ?? DONE) : DONE;
  }

  // An autocommit write no adapter wrapped: its rows go in a transaction of their own, just after the
  // write. True when a writer took over publishing.
  // The write has committed already: if its rows cannot be written, the events are published
  // directly (false), rather than lost.
  async #writeAlone(events: DataEvent[]): Promise<boolean> {
    try {
      for (const { writer, client } of this.#writers) await client.transaction((tx) => writer.write(events, tx));
    } catch {
      return false;
    }
    for (const { writer } of this.#writers) writer.afterCommit?.(events);
    return this.#writers.some((r) => r.writer.takesOverPublishing);
  }

  // Pops the innermost level; a handle with no level left is forgotten. When the last level ends,
  // the transaction's failure events go to the writers (tracked: `rollback()` returns it, `settled()` waits).
  #pop(state: TxState): Frame {
    const frame = state.frames.pop()!;
    if (state.frames.length === 0 || !state.frames.some((f) => f.handle === frame.handle)) this.#open.delete(frame.handle);
    if (state.frames.length === 0 && state.failed) {
      state.failuresWritten = this.#writeFailed(state.failed);
      state.failed = undefined;
    }
    return frame;
  }

  // Failure events to the writers, tracked: never rejects (a writer's error is reported).
  #writeFailed(events: DataEvent[]): Promise<void> {
    if (!this.#writers.some((r) => r.writer.writeFailed)) return DONE;
    return this.#pending.track(events, async () => {
      for (const { writer, client } of this.#writers) await writer.writeFailed?.(events, client);
    });
  }
}

const DONE: Promise<void> = Promise.resolve();

// The outermost level is `tx`'s own and every level above it was opened by another handle (and never
// ended: MariaDB fires nothing on RELEASE SAVEPOINT).
function isOutermost(state: TxState, tx: TxHandle): boolean {
  return state.frames[0]!.handle === tx && state.frames.every((frame, i) => i === 0 || frame.handle !== tx);
}

function mergeDown(state: TxState, frame: Frame): void {
  const parent = top(state);
  parent.events.push(...frame.events);
  parent.poisoned ||= frame.poisoned;
}

const UNPLACED: DataEvent["transaction"] = { id: "", position: 0 };

// Outside a transaction an event is its own transaction (its own id: one id fewer per write).
// Inside one, its place is settled only at commit (see stampCommitted).
function place(state: TxState | undefined, event: DataEvent): DataEvent {
  event.transaction = state ? { id: PROVISIONAL, position: 0 } : { id: event.id, position: 0 };
  return event;
}

const PROVISIONAL = "uncommitted";

// Only now is it known which events commit: a rolled-back savepoint may have held the first
// write. The transaction's id is its first committed event's id, positions count committed events.
function stampCommitted(events: DataEvent[]): DataEvent[] {
  if (events.length === 0) return events;
  const committed = now();
  const id = events[0]!.id;
  for (let position = 0; position < events.length; position++) {
    const event = events[position]!;
    // In place: `place` gave every event a transaction object of its own, and nothing has read it yet.
    event.transaction.id = id;
    event.transaction.position = position;
    event.time.committed = committed;
  }
  return events;
}

function top(state: TxState): Frame {
  return state.frames[state.frames.length - 1]!;
}
