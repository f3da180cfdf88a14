import { captureContext, type ContextSupplier } from "../context/context.ts";
import { SPEC_VERSION, type Action, type Bulk, type DataEvent, type EventError, type Row, type Source } from "../envelope/DataEvent.ts";
import { newId } from "../envelope/ids.ts";
import { childTraceparent } from "../envelope/trace.ts";
import { redactorFor, type RedactOptions } from "./redact.ts";

/** What an adapter knows about one write, before Koper turns it into an event. */
export interface ChangeDraft {
  entity: string;
  action: Action;
  /** Primary key by property name; null when a bulk write touched rows it cannot name. */
  key: Row | null;
  /** Row after the write (insert/update) or the values attempted (failure). */
  data?: Row | null;
  /** Row before the write, where the ORM knows it. */
  before?: Row | null;
  /** Changed properties of an update. */
  changes?: string[];
  /** Set for writes by criteria, where no single row is known. */
  bulk?: Bulk;
  source: Omit<Source, "service">;
}

/** Settings that shape every event the capture builds. */
export interface BuildOptions {
  service?: string | undefined;
  redact?: RedactOptions | undefined;
  /** Koper's capture-time context supplier, merged under `runWith`'s context. */
  context?: ContextSupplier | undefined;
}

/** Stamps a draft into a full event: id, time, context, trace, redaction. */
export function buildEvent(
  draft: ChangeDraft,
  transaction: DataEvent["transaction"],
  options: BuildOptions,
  error?: EventError,
): DataEvent {
  const redact = redactorFor(options.redact, draft.entity);
  const { actor, requestId, traceparent, ...extra } = captureContext(options.context) ?? {};
  const context: DataEvent["context"] = { ...extra };
  if (typeof actor === "string") context.actor = actor;
  if (typeof requestId === "string") context.requestId = requestId;
  const event: DataEvent = {
    specVersion: SPEC_VERSION,
    id: newId(),
    entity: draft.entity,
    action: draft.action,
    outcome: error ? "failed" : "committed",
    key: draft.key,
    data: draft.data ? redact(draft.data) : null,
    source: options.service ? { ...draft.source, service: options.service } : { ...draft.source },
    transaction,
    context,
    trace: { traceparent: childTraceparent(typeof traceparent === "string" ? traceparent : undefined) },
    time: { occurred: now() },
  };
  if (draft.before !== undefined) event.before = draft.before ? redact(draft.before) : null;
  if (draft.changes) event.changes = draft.changes;
  if (draft.bulk) event.bulk = redactBulk(draft.bulk, redact);
  if (error) event.error = error;
  return event;
}

function redactBulk(bulk: Bulk, redact: (row: Row) => Row): Bulk {
  const out: Bulk = { ...bulk };
  if (bulk.set) out.set = redact(bulk.set);
  if (isRow(bulk.criteria)) out.criteria = redact(bulk.criteria);
  return out;
}

function isRow(value: unknown): value is Row {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes on one host. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
