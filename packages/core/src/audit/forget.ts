import { randomUUID } from "node:crypto";
import { now } from "../capture/build-event.ts";
import { currentContext } from "../context/context.ts";
import type { Row } from "../envelope/DataEvent.ts";
import { entryJson, keyText, placeholders } from "./encode.ts";
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
    const read = async (sql: string, params: unknown[]): Promise<Stored[]> =>
      (await q(sql, params)).map((row) => ({ seq: row.seq, entry: JSON.parse(String(row.entry)) as StoredEntry }));
    const update = (row: Stored) => q(`UPDATE ${table} SET entry = ? WHERE seq = ?`, [entryJson(row.entry), row.seq]);
    const subject = await read(`SELECT seq, entry FROM ${table} WHERE entity = ? AND entity_key = ? AND action <> 'forget'`, [request.entity, key]);
    const fields = request.fields ? [...request.fields] : personalFields(subject);
    const erased = erasedValues(subject, fields);
    for (const row of subject) {
      const { entry } = row;
      row.entry = { ...entry, before: mask(entry.before, fields), after: mask(entry.after, fields), error: scrub(entry.error, erased) as StoredEntry["error"] };
      await update(row);
    }
    await scrubOthers(read, update, table, request.entity, key, erased);
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

/** The erased values as text, for finding copies of them in error messages and bulk criteria. */
function erasedValues(rows: Stored[], fields: string[]): string[] {
  const values = new Set<string>();
  const collect = (value: unknown) => {
    if (typeof value === "string" && value.length >= 3 && value !== FORGOTTEN) values.add(value);
    else if (typeof value === "number" && String(value).length >= 5) values.add(String(value));
    else if (value && typeof value === "object") Object.values(value).forEach(collect);
  };
  for (const { entry } of rows) {
    for (const data of [entry.before, entry.after]) {
      for (const field of fields) collect(data?.[field]);
    }
  }
  return [...values].sort((a, b) => b.length - a.length);
}

function mask(data: Row | null | undefined, fields: readonly string[]): Row | null | undefined {
  if (!data) return data;
  const out: Row = { ...data };
  for (const field of fields) if (field in out) out[field] = FORGOTTEN;
  return out;
}

/** Replaces every erased value inside the strings (and numbers) of a JSON value. */
function scrub(value: unknown, erased: readonly string[]): unknown {
  if (erased.length === 0 || value === null || value === undefined) return value;
  if (typeof value === "string") return erased.reduce((text, secret) => text.split(secret).join(FORGOTTEN), value);
  if (typeof value === "number") return erased.includes(String(value)) ? FORGOTTEN : value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, erased));
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([field, item]) => [field, scrub(item, erased)]));
  }
  return value;
}

/**
 * Other rows of the entity that quote an erased value: bulk criteria and set, error texts, another
 * row's refused attempt with the subject's email. Only values of 5+ characters are searched for here,
 * so a short common value ("Ann") is not erased from other people's rows.
 */
async function scrubOthers(read: Read, update: Update, table: string, entity: string, key: string, erased: string[]): Promise<void> {
  const distinctive = erased.filter((value) => value.length >= 5);
  if (distinctive.length === 0) return;
  const fields = ["before", "after", "bulk", "error"] as const;
  for (const row of await read(`SELECT seq, entry FROM ${table} WHERE entity = ? AND entity_key <> ?`, [entity, key])) {
    const next: Record<string, unknown> = { ...row.entry };
    for (const field of fields) next[field] = scrub(row.entry[field], distinctive);
    if (fields.some((field) => entryJson({ v: next[field] }) !== entryJson({ v: row.entry[field] }))) {
      await update({ seq: row.seq, entry: next as unknown as StoredEntry });
    }
  }
}

/** Masks the rule's fields in the referencing entity's rows whose `by` field holds the subject's key. */
async function maskReferences(read: Read, update: Update, table: string, rule: ReferenceRule, key: string): Promise<number> {
  let changed = 0;
  for (const row of await read(`SELECT seq, entry FROM ${table} WHERE entity = ?`, [rule.entity])) {
    const { before, after } = row.entry;
    const refers = (data: Row | null | undefined) => data != null && data[rule.by] != null && keyText(data[rule.by] as string) === key;
    if (!refers(before) && !refers(after)) continue;
    await update({ seq: row.seq, entry: { ...row.entry, before: mask(before, rule.fields), after: mask(after, rule.fields) } });
    changed++;
  }
  return changed;
}

/** The `forget` entry: who erased which fields of whom, and how many rows; never the values. */
async function recordForget(tx: TxExecutor, table: string, entity: string, key: string, rawKey: unknown, what: Record<string, unknown>) {
  // Koper's event clock, not Date.now(): the two drift apart, and history orders by this time.
  const at = now();
  const context = currentContext();
  const keyData = (rawKey !== null && typeof rawKey === "object" ? rawKey : { key: rawKey }) as Row;
  const id = randomUUID();
  const entry: StoredEntry = { id, key: keyData, requestId: context?.requestId, position: 0, time: { occurred: at, committed: at }, after: what };
  const sql = `INSERT INTO ${table} (entity, entity_key, action, actor, tx_id, committed_at, entry) VALUES (?, ?, 'forget', ?, ?, ?, ?)`;
  await tx.query(placeholders(sql, tx.dialect), [entity, key, context?.actor ?? null, `forget:${id}`, Math.floor(at), entryJson(entry)]);
}
