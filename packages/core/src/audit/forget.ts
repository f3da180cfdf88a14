import { randomUUID } from "node:crypto";
import { currentContext } from "../context/context.ts";
import type { Row } from "../envelope/DataEvent.ts";
import { fromJson, keyText, placeholders, toJson } from "./encode.ts";
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

type Stored = Record<string, unknown>;

/** Erases a subject's fields across the audit table in one transaction and records that it did. */
export async function forget(client: SqlClient, table: string, request: ForgetRequest): Promise<ForgetResult> {
  const key = keyText(request.key as Row);
  return client.transaction(async (tx) => {
    const q = (sql: string, params: unknown[] = []) => tx.query(placeholders(sql, tx.dialect), params);
    const subject = await q(`SELECT seq, key_data, before_data, after_data, error FROM ${table} WHERE entity = ? AND entity_key = ? AND action <> 'forget'`, [request.entity, key]);
    const fields = request.fields ? [...request.fields] : personalFields(subject);
    const erased = erasedValues(subject, fields);
    for (const row of subject) {
      await q(`UPDATE ${table} SET before_data = ?, after_data = ?, error = ? WHERE seq = ?`, [
        toJson(mask(fromJson<Row>(row.before_data), fields)),
        toJson(mask(fromJson<Row>(row.after_data), fields)),
        toJson(scrub(fromJson(row.error), erased)),
        row.seq,
      ]);
    }
    await scrubOthers(q, table, request.entity, key, erased);
    let references = 0;
    for (const rule of request.references) references += await maskReferences(q, table, rule, key);
    await recordForget(tx, table, request.entity, key, request.key, { fields, rows: subject.length, references });
    return { rows: subject.length, references, fields };
  });
}

type Query = (sql: string, params?: unknown[]) => Promise<Stored[]>;

/** Every field the subject's rows carried, except its key fields. */
function personalFields(rows: Stored[]): string[] {
  const fields = new Set<string>();
  const keyFields = new Set<string>();
  for (const row of rows) {
    for (const field of Object.keys(fromJson<Row>(row.key_data) ?? {})) keyFields.add(field);
    for (const column of ["before_data", "after_data"]) {
      for (const field of Object.keys(fromJson<Row>(row[column]) ?? {})) fields.add(field);
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
  for (const row of rows) {
    for (const column of ["before_data", "after_data"]) {
      const data = fromJson<Row>(row[column]);
      for (const field of fields) collect(data?.[field]);
    }
  }
  return [...values].sort((a, b) => b.length - a.length);
}

function mask(data: Row | null, fields: readonly string[]): Row | null {
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
async function scrubOthers(q: Query, table: string, entity: string, key: string, erased: string[]): Promise<void> {
  const distinctive = erased.filter((value) => value.length >= 5);
  if (distinctive.length === 0) return;
  const columns = ["before_data", "after_data", "bulk", "error"] as const;
  const rows = await q(`SELECT seq, ${columns.join(", ")} FROM ${table} WHERE entity = ? AND entity_key <> ?`, [entity, key]);
  for (const row of rows) {
    const next = columns.map((column) => toJson(scrub(fromJson(row[column]), distinctive)));
    if (next.some((value, i) => value !== (row[columns[i]!] ?? null))) {
      await q(`UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(", ")} WHERE seq = ?`, [...next, row.seq]);
    }
  }
}

/** Masks the rule's fields in the referencing entity's rows whose `by` field holds the subject's key. */
async function maskReferences(q: Query, table: string, rule: ReferenceRule, key: string): Promise<number> {
  let changed = 0;
  for (const row of await q(`SELECT seq, before_data, after_data FROM ${table} WHERE entity = ?`, [rule.entity])) {
    const before = fromJson<Row>(row.before_data);
    const after = fromJson<Row>(row.after_data);
    const refers = (data: Row | null) => data != null && data[rule.by] != null && keyText(data[rule.by] as string) === key;
    if (!refers(before) && !refers(after)) continue;
    await q(`UPDATE ${table} SET before_data = ?, after_data = ? WHERE seq = ?`, [
      toJson(mask(before, rule.fields)),
      toJson(mask(after, rule.fields)),
      row.seq,
    ]);
    changed++;
  }
  return changed;
}

/** The `forget` entry: who erased which fields of whom, and how many rows; never the values. */
async function recordForget(tx: TxExecutor, table: string, entity: string, key: string, rawKey: unknown, what: Record<string, unknown>) {
  const now = Date.now();
  const context = currentContext();
  const keyData = rawKey !== null && typeof rawKey === "object" ? rawKey : { key: rawKey };
  const sql =
    `INSERT INTO ${table} (event_id, entity, entity_key, key_data, action, outcome, actor, request_id, tx_id, tx_position, ` +
    "occurred_at, committed_at, time_points, after_data) VALUES (?, ?, ?, ?, 'forget', 'committed', ?, ?, ?, 0, ?, ?, ?, ?)";
  const id = randomUUID();
  await tx.query(placeholders(sql, tx.dialect), [
    id, entity, key, toJson(keyData), context?.actor ?? null, context?.requestId ?? null,
    `forget:${id}`, now, now, toJson({ occurred: now, committed: now }), toJson(what),
  ]);
}
