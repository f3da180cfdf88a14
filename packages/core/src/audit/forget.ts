import { randomUUID } from "node:crypto";
import { now } from "../capture/build-event.ts";
import { currentContext } from "../context/context.ts";
import type { Row } from "../envelope/DataEvent.ts";
import { ACTOR_CHARS, columnText, entryJson, keyText, parseEntries, placeholders } from "./encode.ts";
import type { StoredEntry } from "./entries.ts";
import type { SqlClient, TxExecutor } from "../capture/in-transaction.ts";

/** What replaces an erased value. */
export const FORGOTTEN = "[forgotten]";

/** Another entity's rows that copy fields of a subject, found by the subject's key in field `by`. */
export interface ReferenceRule {
  entity: string;
  by: string;
  fields: readonly string[];
}

/** What `forget` changed: audit rows of the subject, rows of other entities, and the fields erased. */
export interface ForgetResult {
  rows: number;
  references: number;
  fields: string[];
}

interface ForgetRequest {
  entity: string;
  key: unknown;
  fields: readonly string[] | undefined;
  references: readonly ReferenceRule[];
}

/** An audit row as forget reads it: its seq and its parsed `entry`. */
interface Stored {
  seq: unknown;
  entry: StoredEntry;
}

/** Erases a subject's fields across the audit table in one transaction and records that it did. */
export async function forget(client: SqlClient, table: string, request: ForgetRequest): Promise<ForgetResult> {
  const key = keyText(request.key as Row);
  return client.transaction(async (tx) => {
    const q = (sql: string, params: unknown[] = []) => tx.query(placeholders(sql, tx.dialect), params);
    const read = async (sql: string, params: unknown[]): Promise<Stored[]> => {
      const rows = await q(sql, params);
      const entries = parseEntries<StoredEntry>(rows.map((row) => String(row.entry)));
      return rows.map((row, i) => ({ seq: row.seq, entry: entries[i]! }));
    };
    const update = (row: Stored) => q(`UPDATE ${table} SET entry = ? WHERE seq = ?`, [entryJson(row.entry), row.seq]);
    const subject = await read(`SELECT seq, entry FROM ${table} WHERE entity = ? AND entity_key = ? AND action <> 'forget'`, [request.entity, key]);
    const others = await read(`SELECT seq, entry FROM ${table} WHERE entity = ? AND entity_key <> ?`, [request.entity, key]);
    const fields = request.fields ? [...request.fields] : personalFields(subject);
    const values = new Set<string>();
    for (const { entry } of subject) collectFields([entry.before, entry.after], fields, values);
    // Writes by criteria aimed at the subject (by its key, or by an erased value) set its fields too.
    const keyRow = keyObject(request.key, subject);
    const aimed = new Set(others.filter(({ entry }) => aimsAt(entry.bulk, [keyRow], undefined, key, values)));
    for (const { entry } of aimed) collectFields([entry.bulk?.set], fields, values);
    const erased = sortedValues(values);
    for (const row of subject) {
      const { entry } = row;
      row.entry = { ...entry, before: mask(entry.before, fields), after: mask(entry.after, fields), error: scrub(entry.error, erased) as StoredEntry["error"] };
      await update(row);
    }
    await scrubRows(others, update, erased, (row) => (aimed.has(row) ? fields : []));
    let references = 0;
    for (const rule of request.references) references += await maskReferences(read, update, table, rule, key);
    await recordForget(tx, table, request.entity, key, request.key, { fields, rows: subject.length, references });
    return { rows: subject.length, references, fields };
  });
}

type Read = (sql: string, params: unknown[]) => Promise<Stored[]>;
type Update = (row: Stored) => Promise<unknown>;

/** Every field the subject's rows carried, except its key fields. */
function personalFields(rows: Stored[]): string[] {
  const fields = new Set<string>();
  const keyFields = new Set<string>();
  for (const { entry } of rows) {
    for (const field of Object.keys(entry.key ?? {})) keyFields.add(field);
    for (const data of [entry.before, entry.after]) {
      for (const field of Object.keys(data ?? {})) fields.add(field);
    }
  }
  return [...fields].filter((field) => !keyFields.has(field)).sort();
}

/** The subject's key as an object: as given, or as its rows recorded it (a bare value names a one-column key). */
function keyObject(key: unknown, rows: Stored[]): Row {
  if (key !== null && typeof key === "object") return key as Row;
  return rows.find(({ entry }) => entry.key)?.entry.key ?? {};
}

/** Adds the values of `fields` in `data` as text, for finding copies of them in other texts. */
function collectFields(data: readonly (Row | null | undefined)[], fields: readonly string[], values: Set<string>): void {
  const collect = (value: unknown) => {
    if (typeof value === "string" && value.length >= 3 && value !== FORGOTTEN) values.add(value);
    else if ((typeof value === "number" || typeof value === "bigint") && String(value).length >= 5) values.add(String(value));
    else if (value instanceof Date || value instanceof Uint8Array) return;
    else if (value && typeof value === "object") Object.values(value).forEach(collect);
  };
  for (const row of data) for (const field of fields) collect(row?.[field]);
}

/** The values longest first, so a value inside a longer one never leaves the longer one's rest behind. */
function sortedValues(values: Set<string>): string[] {
  return [...values].sort((a, b) => b.length - a.length);
}

/** Values of 5+ characters: the ones other rows are searched for, so a short common value ("Ann") is left alone. */
function distinctive(values: Iterable<string>): Set<string> {
  return new Set([...values].filter((value) => value.length >= 5));
}

/**
 * True when a write by criteria named one of `keys` (every key field equal), `by` = `byKey`, or
 * compared anything with a distinctive erased value (`{ email: "ann@…" }`, a bound SQL parameter).
 */
function aimsAt(bulk: StoredEntry["bulk"], keys: readonly Row[], by: string | undefined, byKey: string, values: Set<string>): boolean {
  const criteria = bulk?.criteria;
  if (!criteria) return false;
  const quoted = distinctive(values);
  if (byKey.length >= 5) quoted.add(byKey);
  const quotes = (value: unknown): boolean => {
    if (typeof value === "string" || typeof value === "number" || typeof value === "bigint") return quoted.has(String(value));
    if (value && typeof value === "object" && !(value instanceof Date) && !(value instanceof Uint8Array)) return Object.values(value).some(quotes);
    return false;
  };
  if (criteria.kind === "sql") return criteria.parameters.some(quotes);
  const where = criteria.where;
  const equal = (a: unknown, b: unknown) => a !== undefined && a !== null && (typeof a !== "object" || a instanceof Date) && keyText({ v: a }) === keyText({ v: b });
  if (keys.some((k) => Object.keys(k).length > 0 && Object.entries(k).every(([field, value]) => equal(where[field], value)))) return true;
  if (by !== undefined && equal(where[by], byKey)) return true;
  return quotes(where);
}

function mask(data: Row | null | undefined, fields: readonly string[]): Row | null | undefined {
  if (!data) return data;
  const out: Row = { ...data };
  for (const field of fields) if (field in out) out[field] = FORGOTTEN;
  return out;
}

/** Replaces every erased value inside the strings (and numbers, bigints) of a value. */
function scrub(value: unknown, erased: readonly string[]): unknown {
  if (erased.length === 0 || value === null || value === undefined) return value;
  if (typeof value === "string") return erased.reduce((text, secret) => text.split(secret).join(FORGOTTEN), value);
  if (typeof value === "number" || typeof value === "bigint") return erased.includes(String(value)) ? FORGOTTEN : value;
  if (value instanceof Date || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, erased));
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([field, item]) => [field, scrub(item, erased)]));
  }
  return value;
}

/**
 * Rewrites rows that quote an erased value (bulk criteria and set, error texts, another row's refused
 * attempt with the subject's email), masking `maskSet(row)`'s fields of a bulk write's set first.
 * Only values of 5+ characters are searched for here, so a short common value ("Ann") is not erased
 * from other people's rows.
 */
async function scrubRows(rows: readonly Stored[], update: Update, erased: readonly string[], maskSet: (row: Stored) => readonly string[]): Promise<void> {
  const searched = [...distinctive(erased)];
  const parts = ["before", "after", "bulk", "error"] as const;
  for (const row of rows) {
    const setFields = maskSet(row);
    if (searched.length === 0 && setFields.length === 0) continue;
    const next: Record<string, unknown> = { ...row.entry };
    if (row.entry.bulk && setFields.length > 0) next.bulk = { ...row.entry.bulk, set: mask(row.entry.bulk.set, setFields) ?? undefined };
    for (const part of parts) next[part] = scrub(next[part], searched);
    if (parts.some((part) => entryJson({ v: next[part] }) !== entryJson({ v: row.entry[part] }))) {
      await update({ seq: row.seq, entry: next as unknown as StoredEntry });
    }
  }
}

/**
 * Masks the rule's fields in the referencing entity's rows whose `by` field holds the subject's key,
 * in its writes by criteria aimed at those rows (or at `by` = the key), and the copied values
 * wherever else that entity's rows quote them (error texts, criteria).
 */
async function maskReferences(read: Read, update: Update, table: string, rule: ReferenceRule, key: string): Promise<number> {
  const rows = await read(`SELECT seq, entry FROM ${table} WHERE entity = ?`, [rule.entity]);
  const refers = (data: Row | null | undefined) => data != null && data[rule.by] != null && keyText(data[rule.by] as string) === key;
  const referencing = new Set(rows.filter(({ entry }) => refers(entry.before) || refers(entry.after)));
  const values = new Set<string>();
  for (const { entry } of referencing) collectFields([entry.before, entry.after], rule.fields, values);
  const keys = [...referencing].flatMap(({ entry }) => (entry.key ? [entry.key] : []));
  const aimed = new Set(rows.filter((row) => !referencing.has(row) && aimsAt(row.entry.bulk, keys, rule.by, key, new Set())));
  for (const { entry } of aimed) collectFields([entry.bulk?.set], rule.fields, values);
  const erased = sortedValues(values);
  for (const row of referencing) {
    const { entry } = row;
    await update({ seq: row.seq, entry: { ...entry, before: mask(entry.before, rule.fields), after: mask(entry.after, rule.fields), error: scrub(entry.error, erased) as StoredEntry["error"] } });
  }
  await scrubRows(rows.filter((row) => !referencing.has(row)), update, erased, (row) => (aimed.has(row) ? rule.fields : []));
  return referencing.size;
}

/** The `forget` entry: who erased which fields of whom, and how many rows; never the values. */
async function recordForget(tx: TxExecutor, table: string, entity: string, key: string, rawKey: unknown, what: Record<string, unknown>) {
  // Koper's event clock, not Date.now(): the two drift apart, and history orders by this time.
  const at = now();
  const context = currentContext();
  const keyData = (rawKey !== null && typeof rawKey === "object" ? rawKey : { key: rawKey }) as Row;
  const id = randomUUID();
  const actor = typeof context?.actor === "string" ? context.actor : undefined;
  const entry: StoredEntry = {
    id, key: keyData, actor: actor !== undefined && actor.length > ACTOR_CHARS ? actor : undefined, requestId: context?.requestId,
    position: 0, time: { occurred: at, committed: at }, after: what,
  };
  const sql = `INSERT INTO ${table} (entity, entity_key, action, actor, tx_id, committed_at, entry) VALUES (?, ?, 'forget', ?, ?, ?, ?)`;
  await tx.query(placeholders(sql, tx.dialect), [entity, key, actor === undefined ? null : columnText(actor, ACTOR_CHARS), `forget:${id}`, Math.floor(at), entryJson(entry)]);
}
