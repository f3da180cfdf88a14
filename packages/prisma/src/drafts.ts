import type { Action, Bulk, ChangeDraft, Row } from "@koper/core";
import { changedFields } from "./changed-fields.ts";
import type { ModelInfo } from "./schema.ts";

/** Bulk criteria: a Prisma `where` object, or the SQL of a raw statement. */
export type Criteria = { kind: "where"; where: Record<string, unknown> } | { kind: "sql"; sql: string; parameters: unknown[] } | null;

/** Builds the change drafts of one client's writes. */
export class DraftFactory {
  readonly #database: string | undefined;
  readonly #sources = new WeakMap<ModelInfo, ChangeDraft["source"]>();

  constructor(database: string | undefined) {
    this.#database = database;
  }

  /** A row Prisma returned after inserting it. */
  inserted(model: ModelInfo, row: Row): ChangeDraft {
    const data = columnsOf(model, row);
    return this.#draft(model, "insert", keyOf(model, data), { data });
  }

  /** A row Prisma returned after updating it; `before` when the adapter read it first. */
  updated(model: ModelInfo, row: Row, before: Row | undefined, changes: string[]): ChangeDraft {
    const data = columnsOf(model, row);
    const draft = this.#draft(model, "update", keyOf(model, data), { data, changes });
    if (before) draft.before = columnsOf(model, before);
    return draft;
  }

  /** A row Prisma returned after deleting it: the row as it was. */
  deleted(model: ModelInfo, row: Row): ChangeDraft {
    const before = columnsOf(model, row);
    return this.#draft(model, "delete", keyOf(model, before), { data: null, before });
  }

  /** A write by criteria: no row is known, only the criteria, the values set and the count. */
  bulk(model: ModelInfo | string, action: Action, criteria: Criteria, set: Row | undefined, affected: number | null): ChangeDraft {
    const bulk: Bulk = { criteria, affected };
    const values = set && typeof model !== "string" ? scalarsOf(model, set) : set;
    if (values && Object.keys(values).length > 0) bulk.set = values;
    const draft = this.#draft(model, action, null, { data: null, bulk });
    if (action === "update") {
      // The fields `data` writes, operators (`{ increment: 1 }`, not in `set`) and `@updatedAt` included.
      const changes = typeof model === "string" ? Object.keys(bulk.set ?? {}) : changedFields(model, set);
      if (changes.length > 0) draft.changes = changes;
    }
    return draft;
  }

  /** A row write that failed: the attempted values, and the key where the call named it. */
  failed(model: ModelInfo, action: Action, key: Row | null, attempted: Row | undefined): ChangeDraft {
    const data = action === "delete" || !attempted ? null : scalarsOf(model, attempted);
    return this.#draft(model, action, key, { data });
  }

  #draft(model: ModelInfo | string, action: Action, key: Row | null, rest: Partial<ChangeDraft>): ChangeDraft {
    const draft = rest as ChangeDraft;
    draft.entity = typeof model === "string" ? model : model.name;
    draft.action = action;
    draft.key = key;
    draft.source = typeof model === "string" ? this.#source(model, undefined) : this.#sourceOf(model);
    return draft;
  }

  // One source per model (core copies it into each event), built once.
  #sourceOf(model: ModelInfo): ChangeDraft["source"] {
    let source = this.#sources.get(model);
    if (source?.table !== model.table || source.schema !== model.schema) this.#sources.set(model, (source = this.#source(model.table, model.schema)));
    return source;
  }

  #source(table: string, schema: string | undefined): ChangeDraft["source"] {
    const source: ChangeDraft["source"] = { orm: "prisma", table };
    if (this.#database) source.database = this.#database;
    if (schema) source.schema = schema;
    return source;
  }
}

/**
 * The model's scalar values of a row or of `data`: relation fields (an `include`, a nested
 * write) are left out, and so are operators (`{ increment: 1 }`), which are not values. A Json
 * field's value is never an operator: `{ set: "x" }` there is the JSON Prisma stores.
 */
export function scalarsOf(model: ModelInfo, row: Row): Row {
  const out: Row = {};
  for (const field of Object.keys(row)) {
    const value = row[field];
    if (value === undefined || !model.scalars.has(field)) continue;
    const operator = model.json.has(field) ? undefined : operatorOf(value);
    if (operator === "set") out[field] = (value as { set: unknown }).set;
    else if (operator === undefined) out[field] = value;
  }
  return model.decimals.size > 0 ? plainDecimals(model, out) : out;
}

/**
 * The model's scalar values of a row Prisma returned: relation fields (an `include`) are left out.
 * A result holds values only, so nothing is read as an operator: a Json column holding
 * `{ "increment": 1 }` is that value (`scalarsOf` is for `data`).
 */
export function columnsOf(model: ModelInfo, row: Row): Row {
  const out: Row = {};
  const scalars = model.scalars;
  for (const field of Object.keys(row)) {
    const value = row[field];
    if (value !== undefined && scalars.has(field)) out[field] = value;
  }
  return model.decimals.size > 0 ? plainDecimals(model, out) : out;
}

/**
 * A Decimal's exact value as a string in plain notation (`"0.00000001"`): events carry JSON values,
 * and Decimal's own JSON switches to exponent notation (`"1e-8"`) for small and large values.
 * A string or number the call gave stays as given.
 */
function plainDecimals(model: ModelInfo, out: Row): Row {
  for (const field of model.decimals) if (field in out) out[field] = plainDecimal(out[field]);
  return out;
}

function plainDecimal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainDecimal);
  const toFixed = (value as { toFixed?: unknown } | null)?.toFixed;
  return typeof value === "object" && typeof toFixed === "function" ? (toFixed as () => string).call(value) : value;
}

const OPERATORS = new Set(["set", "increment", "decrement", "multiply", "divide", "push", "unset"]);

// `{ increment: 1 }` in `data` is an operator; a Date, Decimal, Buffer or JSON value is not.
function operatorOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 && OPERATORS.has(keys[0]!) ? keys[0] : undefined;
}

/** The primary key of a row (or of `where`/`data`), or null when a part of it is unknown. */
export function keyOf(model: ModelInfo, row: Row | undefined): Row | null {
  if (!row || model.key.length === 0) return null;
  const key: Row = {};
  for (const field of model.key) {
    const value = row[field];
    if (value === undefined || value === null || typeof value === "object") {
      // A compound key may be given as `where: { a_b: { a, b } }`.
      const compound = row[model.key.join("_")];
      if (typeof compound === "object" && compound !== null && model.key.length > 1) return keyOf(model, compound as Row);
      return null;
    }
    key[field] = value;
  }
  return key;
}

/**
 * A unique selector (`where` of `update`, `delete`, `upsert`, `connect`…) as a filter: a compound
 * selector (`{ memberId_teamId: { memberId, teamId } }`, an `@@id`'s or `@@unique`'s) is one
 * `findUnique` takes but a `where` filter does not; its fields are named instead. Else unchanged.
 */
export function uniqueAsWhere(model: ModelInfo, where: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const field of Object.keys(where)) {
    const value = where[field];
    if (model.scalars.has(field) || model.relations.has(field) || LOGICAL.has(field) || typeof value !== "object" || value === null || Array.isArray(value)) continue;
    out ??= { ...where };
    delete out[field];
    const parts = value as Record<string, unknown>;
    out = Object.keys(parts).some((part) => part in out!) ? { AND: [out, parts] } : { ...out, ...parts };
  }
  return out ?? where;
}

const LOGICAL = new Set(["AND", "OR", "NOT"]);

/** A bulk write's criteria: its `where` (every row when it has none). */
export function whereOf(args: Record<string, unknown>): Criteria {
  const where = args.where;
  return { kind: "where", where: typeof where === "object" && where !== null ? (where as Record<string, unknown>) : {} };
}

/** `data` when it is one row (a `createMany` of one object, an `updateMany`), else undefined. */
export function singleRow(data: unknown): Row | undefined {
  return typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Row) : undefined;
}

/** The row of `before` (what was read before the write) with the key of `row`. */
export function matching(model: ModelInfo, before: Row[] | undefined, row: Row): Row | undefined {
  if (!before) return undefined;
  const key = keyOf(model, row);
  if (!key) return undefined;
  return before.find((candidate) => model.key.every((field) => candidate[field] === key[field]));
}
