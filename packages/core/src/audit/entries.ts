import { MASK } from "../capture/redact.ts";
import { parseEntries, toJson } from "./encode.ts";
import type { Action, Bulk, EventError, Outcome, Row, Source, TimePoints } from "../envelope/DataEvent.ts";

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

/** The `entry` column: the event's fields that no query filters by, as one JSON text (absent ones left out). */
export interface StoredEntry {
  id: string;
  key?: Row | null | undefined;
  /** The actor, only when longer than the actor column holds (which then has its digest). */
  actor?: string | undefined;
  /** Left out when `committed` (nearly every row). */
  outcome?: Outcome | undefined;
  requestId?: string | undefined;
  context?: Record<string, unknown> | undefined;
  position: number;
  time: TimePoints;
  before?: Row | null | undefined;
  after?: Row | null | undefined;
  changes?: string[] | undefined;
  bulk?: Bulk | undefined;
  error?: EventError | undefined;
  source?: Source | undefined;
}

/**
 * What AuditLog selects: the filtered columns and `entry`. The entries of a whole page or history are
 * parsed in one JSON.parse call (see `toEntries`).
 */
export const SELECT_COLUMNS = "seq, entity, action, actor, tx_id, entry";

/** Rows selected with `selectColumns` as AuditEntries. */
export function toEntries(rows: readonly Record<string, unknown>[]): AuditEntry[] {
  if (rows.length === 0) return [];
  const json = parseEntries<StoredEntry>(rows.map((row) => row.entry));
  return rows.map((row, i) => toEntry(row, json[i]!));
}

function toEntry(row: Record<string, unknown>, e: StoredEntry): AuditEntry {
  return {
    seq: Number(row.seq),
    eventId: e.id,
    entity: String(row.entity),
    key: e.key ?? null,
    action: row.action as AuditAction,
    outcome: e.outcome ?? "committed",
    actor: e.actor ?? (row.actor as string | null) ?? undefined,
    requestId: e.requestId ?? undefined,
    context: e.context ?? {},
    transaction: { id: String(row.tx_id), position: e.position },
    time: e.time ?? { occurred: 0 },
    before: e.before ?? null,
    after: e.after ?? null,
    changes: e.changes ?? [],
    bulk: e.bulk ?? undefined,
    error: e.error ?? undefined,
    source: e.source ?? undefined,
  };
}

// Scalars compare as themselves; objects (JSON, Dates, bytes) and bigints by their JSON text, also
// against the text a row written before typed storage holds (an ISO date, digits, base64).
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (!typed(a) && !typed(b)) return false;
  if (typed(a) !== typed(b) && typeof (typed(a) ? b : a) !== "string") return false;
  return toJson(a) === toJson(b);
}

// Not a closure in `same`: it runs for every changed field of every version (and tsx wraps a named
// closure in `__name()`, an Object.defineProperty per call).
function typed(value: unknown): boolean {
  return typeof value === "object" || typeof value === "bigint";
}

// A changed field's value in a row: an embeddable's column is named by its path (`address.city`).
function valueAt(row: Row | null | undefined, field: string): unknown {
  if (!row) return undefined;
  if (field in row || !field.includes(".")) return row[field];
  let value: unknown = row;
  for (const part of field.split(".")) value = typeof value === "object" && value !== null ? (value as Row)[part] : undefined;
  return value;
}

/** Folds entries (oldest first) into versions, in place: each gets its diff against the state before it. */
export function toVersions(entries: AuditEntry[]): AuditVersion[] {
  let state: Row | null = null;
  for (const entry of entries as AuditVersion[]) {
    entry.diff = diffOf(entry, entry.before ?? state);
    if (entry.outcome === "committed") state = nextState(entry, state);
    entry.state = state;
  }
  return entries as AuditVersion[];
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
  const listed = entry.action === "update" && entry.changes.length > 0;
  for (const field of fields) {
    const from = entry.action === "insert" ? undefined : valueAt(prior, field);
    const to = valueAt(after, field);
    if (entry.action === "insert" || !same(from, to)) diff.push({ field, from, to });
    // A redacted field the capture reported changed: masked (or removed) on both sides, still a change.
    else if (listed && (to === MASK || !(field.split(".")[0]! in after))) diff.push({ field, from: MASK, to: MASK });
  }
  return diff;
}
