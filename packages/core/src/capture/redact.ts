import type { BulkCriteria, Row } from "../envelope/DataEvent.ts";

/** What to do with one sensitive field: drop it, replace it with "***", or compute a replacement. */
export type RedactRule = "remove" | "mask" | ((value: unknown) => unknown);

/** Per entity: a list of fields to remove, or a rule per field. */
export type RedactOptions = Record<string, readonly string[] | Record<string, RedactRule>>;

/** The mask written in place of a masked value. */
export const MASK = "***";

/**
 * SQL criteria as an adapter hands them to the capture: `columns[i]` names the property of the
 * write's entity that parameter `i` is compared with, or is undefined where the adapter cannot
 * tell (an expression, another table's column): such a parameter is masked whenever any entity
 * has redaction rules. Without `columns`, none is known.
 */
export interface SqlCriteriaDraft {
  kind: "sql";
  sql: string;
  parameters: unknown[];
  columns?: readonly (string | undefined)[];
}

/** Criteria as an adapter hands them to the capture (the event carries `BulkCriteria`). */
export type CriteriaDraft = Extract<BulkCriteria, { kind: "where" }> | SqlCriteriaDraft;

/** The redaction of one entity: rows, criteria, and the secret values it saw, to scrub from messages. */
export interface Redactor {
  /** True when the entity has rules at all. */
  readonly active: boolean;
  /**
   * True when any entity has rules: a failure's message is then scrubbed, also on an entity without
   * rules of its own (its criteria may filter through another entity's redacted field).
   */
  readonly scrubs: boolean;
  row(row: Row): Row;
  /** A primary key's redacted parts masked, never removed: the key keeps its shape (and routing, its row's order). */
  key(key: Row): Row;
  criteria(criteria: CriteriaDraft | null): BulkCriteria | null;
  /** The values of redacted fields in `row` (and nested criteria), as text, for `scrub`. */
  collect(value: unknown, into: Set<string>): void;
}

const IDENTITY: Redactor = {
  active: false,
  scrubs: false,
  row: (row) => row,
  key: (key) => key,
  criteria: (criteria) => (criteria && criteria.kind === "sql" ? { kind: "sql", sql: criteria.sql, parameters: criteria.parameters } : criteria),
  collect: () => {},
};

/**
 * The redactor of `entity` under `options`; a no-op when no entity has rules. An entity without
 * rules of its own still has its criteria checked: they may filter through another entity's fields.
 */
export function redactorFor(options: RedactOptions | undefined, entity: string): Redactor {
  if (!options) return IDENTITY;
  let perEntity = redactors.get(options);
  if (!perEntity) redactors.set(options, (perEntity = new Map()));
  let redactor = perEntity.get(entity);
  if (!redactor) perEntity.set(entity, (redactor = makeRedactor(options, entity)));
  return redactor;
}

const redactors = new WeakMap<RedactOptions, Map<string, Redactor>>();

function makeRedactor(options: RedactOptions, entity: string): Redactor {
  const elsewhere = redactedAnywhere(options);
  if (elsewhere.size === 0) return IDENTITY;
  const spec = options[entity] ?? [];
  const rules = new Map<string, RedactRule>(
    Array.isArray(spec) ? spec.map((field) => [field, "remove"]) : Object.entries(spec as Record<string, RedactRule>),
  );
  const keyRules = new Map<string, RedactRule>([...rules].map(([field, rule]) => [field, rule === "remove" ? "mask" : rule]));
  return {
    active: rules.size > 0,
    scrubs: true,
    row: rules.size > 0 ? (row) => redactRow(row, rules) : (row) => row,
    key: (key) => redactRow(key, keyRules),
    criteria: (criteria) => redactCriteria(criteria, rules, elsewhere),
    collect: (value, into) => collectSecrets(value, rules, elsewhere, into),
  };
}

// A where tree may filter through a relation (`{ author: { passwordHash } }`), whose entity the
// capture cannot tell: under such a key, a field redacted on any entity is masked.
function redactedAnywhere(options: RedactOptions): Set<string> {
  return new Set(Object.values(options).flatMap((spec) => (Array.isArray(spec) ? spec : Object.keys(spec as object))));
}

function redactRow(row: Row, rules: Map<string, RedactRule>): Row {
  let out: Row | undefined;
  for (const [field, rule] of rules) {
    if (!Object.hasOwn(row, field)) continue;
    out ??= { ...row };
    if (rule === "remove") delete out[field];
    else out[field] = rule === "mask" ? MASK : rule(row[field]);
  }
  return out ?? row;
}

function redactCriteria(criteria: CriteriaDraft | null, rules: Map<string, RedactRule>, elsewhere: Set<string>): BulkCriteria | null {
  if (!criteria) return null;
  if (criteria.kind === "where") return { kind: "where", where: redactDeep(criteria.where, rules, elsewhere, true) as Row };
  const { columns } = criteria;
  const parameters = criteria.parameters.map((value, at) => {
    const column = columns?.[at];
    if (column === undefined) return MASK; // a column nobody could tell (maybe another entity's): conservatively hidden
    const rule = rules.get(column);
    if (!rule) return value;
    return rule === "remove" || rule === "mask" ? MASK : rule(value);
  });
  return { kind: "sql", sql: maskLiterals(criteria.sql), parameters };
}

const LOGICAL = /^\$?(and|or|not)$/i;

// A condition tree: every key naming a redacted field, at any depth (under `$or`, `AND`, a
// relation filter…), is masked as a whole, or has the function applied to each value inside the
// condition (`{ $in: [a, b] }` → `{ $in: [f(a), f(b)] }`). A `remove` rule masks here too: a
// condition left out would widen the criteria (`{ token: x }` without it is `{}`, every row).
// `own` is false below a key that is neither a logical operator nor redacted: there fields of
// other entities may appear.
function redactDeep(value: unknown, rules: Map<string, RedactRule>, elsewhere: Set<string>, own: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, rules, elsewhere, own));
  if (!isPlainObject(value)) return value;
  const out: Row = {};
  for (const [key, inner] of Object.entries(value)) {
    const rule = rules.get(key) ?? (!own && elsewhere.has(key) ? "mask" : undefined);
    if (!rule) out[key] = redactDeep(inner, rules, elsewhere, own && LOGICAL.test(key));
    else if (rule === "mask" || rule === "remove") out[key] = MASK;
    else out[key] = mapLeaves(inner, rule);
  }
  return out;
}

function mapLeaves(value: unknown, fn: (value: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => mapLeaves(item, fn));
  if (!isPlainObject(value)) return fn(value);
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, mapLeaves(inner, fn)]));
}

// The values `redactDeep` hides, found the same way: under a field of the entity's rules, or of any
// entity's below a relation filter (`own` false).
function collectSecrets(value: unknown, rules: Map<string, RedactRule>, elsewhere: Set<string>, into: Set<string>, inSecret = false, own = true): void {
  if (Array.isArray(value)) return value.forEach((item) => collectSecrets(item, rules, elsewhere, into, inSecret, own));
  if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value)) {
      const secret = inSecret || rules.has(key) || (!own && elsewhere.has(key));
      collectSecrets(inner, rules, elsewhere, into, secret, own && LOGICAL.test(key));
    }
    return;
  }
  if (inSecret) addSecret(value, into);
}

/** Adds a secret value, as text a database message would quote it in, to `into`. */
export function addSecret(value: unknown, into: Set<string>): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value) || isPlainObject(value)) return void JSON.stringify(value, (_k, v: unknown) => (addLeaf(v, into), v));
  addLeaf(value, into);
}

function addLeaf(value: unknown, into: Set<string>): void {
  if (value === null || value === undefined || typeof value === "object" && !(value instanceof Date)) return;
  const text = value instanceof Date ? value.toISOString() : String(value);
  if (text !== "") into.add(text);
}

// String literals typed into a WHERE by hand (`where("hash = 'abc'")`) bind no parameter: the
// adapter cannot say which column they meet, so on an entity with rules they are all hidden.
function maskLiterals(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'/g, `'${MASK}'`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
