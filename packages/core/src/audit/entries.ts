import type { Action, Bulk, EventError, Outcome, Row, Source, TimePoints } from "../envelope/DataEvent.ts";
import { fromJson } from "./encode.ts";

/** What an audit row records: a data event's action, or `forget` (an erasure, recorded without the erased values). */
export type AuditAction = Action | "forget";

/** One audit row: one data event of an audited entity (or one erasure). */
export interface AuditEntry {
  /** Position in the audit table (increasing in insert order). */
  seq: number;
  eventId: string;
  entity: string;
  key: Row | null;
  action: AuditAction;
  outcome: Outcome;
  actor: string | undefined;
  requestId: string | undefined;
  /** Extra fields of `runWith` (e.g. tenant), beyond actor and request id. */
  context: Record<string, unknown>;
  transaction: { id: string; position: number };
  time: TimePoints;
  /** The row before the write, where the ORM knew it. */
  before: Row | null;
  /** The row after the write (null for a delete). */
  after: Row | null;
  /** Changed fields, as the capture reported them (updates). */
  changes: string[];
  /** Criteria, set and count of a bulk write. */
  bulk: Bulk | undefined;
  /** Why a failed attempt failed. */
  error: EventError | undefined;
  source: Source | undefined;
}

/** One field's change in a version: `from` is undefined when the field was new, `to` when it went away. */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** One version of a row in its history: the entry, its field-level diff, and the row's state after it. */
export interface AuditVersion extends AuditEntry {
  diff: FieldChange[];
  /** The row as it stood after this version (null once deleted; unchanged by a failed attempt). */
  state: Row | null;
}

/** The columns AuditLog reads. */
export const SELECT_COLUMNS =
  "seq, event_id, entity, key_data, action, outcome, actor, request_id, context, tx_id, tx_position, " +
  "time_points, before_data, after_data, changed, bulk, error, source";

/** One table row as an AuditEntry. */
export function toEntry(row: Record<string, unknown>): AuditEntry {
  return {
    seq: Number(row.seq),
    eventId: String(row.event_id),
    entity: String(row.entity),
    key: fromJson<Row>(row.key_data),
    action: String(row.action) as AuditAction,
    outcome: String(row.outcome) as Outcome,
    actor: (row.actor as string | null) ?? undefined,
    requestId: (row.request_id as string | null) ?? undefined,
    context: fromJson<Record<string, unknown>>(row.context) ?? {},
    transaction: { id: String(row.tx_id), position: Number(row.tx_position) },
    time: fromJson<TimePoints>(row.time_points) ?? { occurred: 0 },
    before: fromJson<Row>(row.before_data),
    after: fromJson<Row>(row.after_data),
    changes: fromJson<string[]>(row.changed) ?? [],
    bulk: fromJson<Bulk>(row.bulk) ?? undefined,
    error: fromJson<EventError>(row.error) ?? undefined,
    source: fromJson<Source>(row.source) ?? undefined,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Folds entries (oldest first) into versions: each with its diff against the state before it. */
export function toVersions(entries: readonly AuditEntry[]): AuditVersion[] {
  let state: Row | null = null;
  return entries.map((entry) => {
    const prior = entry.before ?? state;
    const diff = diffOf(entry, prior);
    if (entry.outcome === "committed") state = nextState(entry, state);
    return { ...entry, diff, state };
  });
}

/** The state of a row after `entry`, from the state before it. */
export function nextState(entry: AuditEntry, state: Row | null): Row | null {
  if (entry.action === "forget" || entry.bulk) return state;
  if (entry.action === "delete") return null;
  if (entry.action === "insert") return entry.after;
  return { ...(state ?? entry.before ?? {}), ...(entry.after ?? {}) };
}

function diffOf(entry: AuditEntry, prior: Row | null): FieldChange[] {
  if (entry.action === "forget" || entry.bulk) return [];
  if (entry.action === "delete") {
    return Object.entries(prior ?? {}).map(([field, from]) => ({ field, from, to: undefined }));
  }
  const after = entry.after ?? {};
  const fields = entry.action === "update" && entry.changes.length > 0 ? entry.changes : Object.keys(after);
  const diff: FieldChange[] = [];
  for (const field of fields) {
    const from = entry.action === "insert" ? undefined : prior?.[field];
    const to = after[field];
    if (entry.action === "insert" || !same(from, to)) diff.push({ field, from, to });
  }
  return diff;
}
