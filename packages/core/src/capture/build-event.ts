import { captureContext, type ContextSupplier } from "../context/context.ts";
import { SPEC_VERSION, type Action, type Bulk, type DataEvent, type EventError, type Row, type Source } from "../envelope/DataEvent.ts";
import { newId } from "../envelope/ids.ts";
import { childTraceparent } from "../envelope/trace.ts";
import { addSecret, redactorFor, type CriteriaDraft, type RedactOptions, type Redactor } from "./redact.ts";
import { scrubError } from "./scrub-error.ts";

/** A criteria write as an adapter describes it: the event's `Bulk`, with criteria the capture redacts. */
export interface BulkDraft extends Omit<Bulk, "criteria"> {
  criteria: CriteriaDraft | null;
}

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
  bulk?: BulkDraft;
  source: Omit<Source, "service">;
}

/** Settings that shape every event the capture builds. */
export interface BuildOptions {
  service?: string | undefined;
  redact?: RedactOptions | undefined;
  /** Koper's capture-time context supplier, merged under `runWith`'s context. */
  context?: ContextSupplier | undefined;
}

/**
 * Stamps a draft into a full event: id, time, context, trace, redaction. A failure's message and
 * driver detail are scrubbed here too, once for every adapter: databases quote the values they
 * refused (`Key (email)=(…)`, `Duplicate entry '…'`, a NOT NULL violation's whole row).
 */
export function buildEvent(
  draft: ChangeDraft,
  transaction: DataEvent["transaction"],
  options: BuildOptions,
  error?: EventError,
): DataEvent {
  const redact = redactorFor(options.redact, draft.entity);
  const scope = captureContext(options.context);
  let context: DataEvent["context"] = {};
  let traceparent: unknown;
  if (scope) {
    const { actor, requestId, traceparent: parent, ...extra } = scope;
    context = extra;
    if (typeof actor === "string") context.actor = actor;
    if (typeof requestId === "string") context.requestId = requestId;
    traceparent = parent;
  }
  const event: DataEvent = {
    specVersion: SPEC_VERSION,
    id: newId(),
    entity: draft.entity,
    action: draft.action,
    outcome: error ? "failed" : "committed",
    key: draft.key && redact.active ? redact.key(draft.key) : draft.key,
    data: draft.data ? redact.row(draft.data) : null,
    source: options.service ? { ...draft.source, service: options.service } : { ...draft.source },
    transaction,
    context,
    trace: { traceparent: childTraceparent(typeof traceparent === "string" ? traceparent : undefined) },
    time: { occurred: now() },
  };
  if (draft.before !== undefined) event.before = draft.before ? redact.row(draft.before) : null;
  if (draft.changes) event.changes = draft.changes;
  if (draft.bulk) event.bulk = redactBulk(draft.bulk, redact);
  if (error) event.error = redact.scrubs ? scrubError(error, secretsOf(draft, redact), redact.active) : error;
  return event;
}

function redactBulk(bulk: BulkDraft, redact: Redactor): Bulk {
  const out: Bulk = { criteria: redact.criteria(bulk.criteria), affected: bulk.affected };
  if (bulk.set) out.set = redact.row(bulk.set);
  return out;
}

// Every value of a redacted field the draft carries, as the database would quote it.
function secretsOf(draft: ChangeDraft, redact: Redactor): Set<string> {
  const secrets = new Set<string>();
  for (const row of [draft.data, draft.before, draft.key, draft.bulk?.set]) if (row) redact.collect(row, secrets);
  const criteria = draft.bulk?.criteria;
  if (criteria?.kind === "where") redact.collect(criteria.where, secrets);
  if (criteria?.kind === "sql") {
    // A parameter the capture masks is a secret whether its column is redacted or unknown.
    const masked = redact.criteria(criteria);
    criteria.parameters.forEach((value, at) => {
      if (masked?.kind === "sql" && masked.parameters[at] !== value) addSecret(value, secrets);
    });
  }
  return secrets;
}

// Read once: the getter allocates a number per call, and the origin never changes.
const TIME_ORIGIN = performance.timeOrigin;

/** Epoch milliseconds with sub-millisecond precision, comparable across processes on one host. */
export function now(): number {
  // Whole microseconds: finer digits are clock noise, and envelope v2 carries whole µs as exact integers.
  return Math.round((TIME_ORIGIN + performance.now()) * 1000) / 1000;
}
