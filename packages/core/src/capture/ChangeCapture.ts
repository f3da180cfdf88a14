import type { DataEvent, EventError } from "../envelope/DataEvent.ts";
import { CaptureError } from "../errors.ts";
import { buildEvent, now, type BuildOptions, type ChangeDraft } from "./build-event.ts";
import { toEventError, type DriverErrorInfo } from "./database-errors.ts";

/** Where the capture hands finished events: Koper's producer. */
export interface CaptureSink {
  /** Publishes committed or failure events; never rejects (failures are reported by the sink). */
  publish(events: DataEvent[]): Promise<void>;
  /** Reports events dropped because their transaction cannot have committed. */
  dropped(events: DataEvent[], reason: "poisoned"): void;
}

/** The transaction handle an adapter supplies: any object that identifies one transaction. */
export type TxHandle = object;

interface Frame {
  events: DataEvent[];
  poisoned: boolean;
  /** The handle that opened this level: the transaction's own, or a savepoint's (`begin(sp, { parent })`). */
  handle: TxHandle;
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

  constructor(sink: CaptureSink, options: BuildOptions = {}) {
    this.#sink = sink;
    this.#options = options;
  }

  /**
   * Opens a transaction on `tx`, or a savepoint when one is already open on it, or when
   * `options.parent` names an open transaction (a parent that is not open, whose start was never
   * seen, leaves `tx` a transaction of its own).
   */
  begin(tx: TxHandle, options: BeginOptions = {}): void {
    let state = this.#open.get(tx) ?? (options.parent ? this.#open.get(options.parent) : undefined);
    if (!state) state = { frames: [] };
    this.#open.set(tx, state);
    state.frames.push({ events: [], poisoned: false, handle: tx });
  }

  /** How many levels are open on `tx`: 0 none, 1 a transaction, more for savepoints. */
  depth(tx: TxHandle | undefined): number {
    return tx ? (this.#open.get(tx)?.frames.length ?? 0) : 0;
  }

  /** Records a write: buffered when `tx` is open, published at once otherwise (autocommit). */
  async record(tx: TxHandle | undefined, draft: ChangeDraft): Promise<void> {
    const state = tx ? this.#open.get(tx) : undefined;
    const event = place(state, buildEvent(draft, UNPLACED, this.#options));
    if (state) return void top(state).events.push(event);
    event.time.committed = event.time.occurred;
    return this.#sink.publish([event]);
  }

  /**
   * Publishes the failure event of a write that the database refused. It is published at once:
   * the attempt happened whatever becomes of the transaction around it. It stands alone, as
   * `{ id: its own id, position: 0 }`: the transaction's id is its first committed event's, not
   * known yet (and never, if it rolls back), so a failure can never share a committed event's place.
   */
  async fail(_tx: TxHandle | undefined, draft: ChangeDraft, error: unknown, info?: DriverErrorInfo): Promise<void> {
    const eventError: EventError = toEventError(error, info);
    return this.#sink.publish([place(undefined, buildEvent(draft, UNPLACED, this.#options, eventError))]);
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
   * The events the outermost commit of `tx` would publish, stamped with their final positions,
   * for an adapter that writes them to an outbox inside the transaction.
   */
  pending(tx: TxHandle): DataEvent[] {
    const state = this.#open.get(tx);
    if (!state || state.frames.length !== 1 || top(state).poisoned) return [];
    return stampCommitted(top(state).events);
  }

  /**
   * Commits the innermost level of `tx`: a savepoint merges into its parent; the outermost
   * publishes. Levels opened inside it by other handles and never ended (MariaDB fires no event on
   * RELEASE SAVEPOINT) were released with it: they merge first.
   */
  async commit(tx: TxHandle): Promise<void> {
    const state = this.#open.get(tx);
    if (!state) throw CaptureError.noOpenTransaction("commit");
    while (top(state).handle !== tx) mergeDown(state, this.#pop(state));
    const frame = this.#pop(state);
    if (state.frames.length > 0) return mergeDown(state, frame);
    if (frame.events.length === 0) return;
    if (frame.poisoned) return this.#sink.dropped(frame.events, "poisoned");
    return this.#sink.publish(stampCommitted(frame.events));
  }

  /** Rolls back the innermost level of `tx` (and the levels opened inside it), dropping only their events. */
  rollback(tx: TxHandle): void {
    const state = this.#open.get(tx);
    if (!state) return;
    while (top(state).handle !== tx) this.#pop(state);
    this.#pop(state);
  }

  // Pops the innermost level; a handle with no level left is forgotten.
  #pop(state: TxState): Frame {
    const frame = state.frames.pop()!;
    if (!state.frames.some((f) => f.handle === frame.handle)) this.#open.delete(frame.handle);
    return frame;
  }
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
  events.forEach((event, position) => {
    event.transaction = { id, position };
    event.time.committed = committed;
  });
  return events;
}

function top(state: TxState): Frame {
  return state.frames[state.frames.length - 1]!;
}
