import type { Action, Bulk, EventError, Outcome, Row, Source, TimePoints } from "../envelope/DataEvent.ts";
import type { SqlDialect } from "../capture/in-transaction.ts";

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

const SCALAR_COLUMNS = "seq, event_id, entity, action, outcome, actor, request_id, tx_id, tx_position";
const JSON_COLUMNS = ["key_data", "context", "time_points", "before_data", "after_data", "changed", "bulk", "error", "source"];

/**
 * What AuditLog selects: the scalar columns, and the JSON text columns joined by the database into one
 * JSON array per row (`json_columns`). Text concatenation costs the database next to nothing (unlike
 * building JSON values), and spares the driver eight columns per row and the reader a JSON.parse per
 * column: the rows of a whole page or history are parsed in one call (see `toEntries`).
 */
export function selectColumns(dialect: SqlDialect): string {
  const parts = JSON_COLUMNS.map((column) => `COALESCE(${column}, 'null')`);
  const json = dialect === "mysql" ? `CONCAT('[', ${parts.join(", ',', ")}, ']')` : `'[' || ${parts.join(" || ',' || ")} || ']'`;
  return `${SCALAR_COLUMNS}, ${json} AS json_columns`;
}

/** Rows selected with `selectColumns` as AuditEntries. */
export function toEntries(rows: readonly Record<string, unknown>[]): AuditEntry[] {
  if (rows.length === 0) return [];
  const json = JSON.parse(`[${rows.map((row) => row.json_columns).join(",")}]`) as unknown[][];
  return rows.map((row, i) => toEntry(row, json[i]!));
}

function toEntry(row: Record<string, unknown>, j: readonly unknown[]): AuditEntry {
  return {
    seq: Number(row.seq),
    eventId: String(row.event_id),
    entity: String(row.entity),
    key: (j[0] as Row | null) ?? null,
    action: row.action as AuditAction,
    outcome: row.outcome as Outcome,
    actor: (row.actor as string | null) ?? undefined,
    requestId: (row.request_id as string | null) ?? undefined,
    context: (j[1] as Record<string, unknown> | null) ?? {},
    transaction: { id: String(row.tx_id), position: Number(row.tx_position) },
    time: (j[2] as TimePoints | null) ?? { occurred: 0 },
    before: (j[3] as Row | null) ?? null,
    after: (j[4] as Row | null) ?? null,
    changes: (j[5] as string[] | null) ?? [],
    bulk: (j[6] as Bulk | null) ?? undefined,
    error: (j[7] as EventError | null) ?? undefined,
    source: (j[8] as Source | null) ?? undefined,
  };
}

// Scalars compare as themselves; only objects (JSON, dates as text) need their JSON text compared.
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
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
  for (const field of fields) {
    const from = entry.action === "insert" ? undefined : prior?.[field];
    const to = after[field];
    if (entry.action === "insert" || !same(from, to)) diff.push({ field, from, to });
  }
  return diff;
}
