import { methodOwner, type Action, type ChangeDraft, type Row, type TxHandle } from "@koper/core";
import type { AnyEntity, EntityManager, EntityMetadata, EntityProperty } from "@mikro-orm/core";
import { inOwnTransaction, needsOwnTransaction } from "./autocommit.ts";
import { plainWhere, type Criteria } from "./drafts.ts";
import { inNativeCall, type NativeCallStore } from "./driver-writes.ts";
import { driverInfo, refusal } from "./failures.ts";
import type { KoperMikroOrmSubscriber } from "./KoperMikroOrmSubscriber.ts";
import { columnValue } from "./rows.ts";

type Meta = EntityMetadata<AnyEntity>;

/** The parts of MikroORM's QueryBuilder a write event needs (public getters; `state` is marked internal). */
interface QueryBuilderLike {
  readonly type: string;
  readonly mainAlias: { meta?: Meta };
  readonly context?: TxHandle;
  readonly state?: { data?: Record<string, unknown>; flags?: ReadonlySet<string>; cond?: unknown };
  getQuery(): string;
  getParams(): unknown[];
}

type Resolve = () => KoperMikroOrmSubscriber | undefined;
interface Tag {
  em: EntityManager;
  resolve: Resolve;
}

// Only QueryBuilders the application made (em.createQueryBuilder / em.qb) are events: the driver
// builds its own for the unit of work's statements, which the flush hooks already announce.
const made = new WeakMap<object, Tag>();
const WRITES: Record<string, Action> = { INSERT: "insert", UPDATE: "update", DELETE: "delete", UPSERT: "insert" };

/** Marks a QueryBuilder the application created on `em`; patches its class's `execute` the first time. */
export function tagQueryBuilder(qb: object, em: EntityManager, resolve: Resolve): void {
  made.set(qb, { em, resolve });
  const proto = methodOwner(qb, "execute");
  const key = Symbol.for("koper.mikro-orm.patched.execute");
  if (!proto || proto[key]) return;
  const original = proto.execute as (this: QueryBuilderLike, ...args: unknown[]) => Promise<unknown>;
  proto[key] = true;
  proto.execute = async function (this: QueryBuilderLike, ...args: unknown[]) {
    const action = writeAction(this);
    const tag = action ? made.get(this) : undefined;
    const sub = tag?.resolve();
    const meta = this.mainAlias?.meta;
    if (!tag || !sub || !action || !sub.captures(meta)) return original.apply(this, args);
    const run = () => original.apply(this, args);
    if (!needsOwnTransaction(sub, this.context)) return captured(sub, this, meta, action, this.context, run);
    // With an outbox or audit, the write and its rows commit together (see autocommit.ts). The
    // QueryBuilder took its transaction when it was built and has no setter for it: it is lent
    // this one for the call (`context` is a plain field, read by execute()).
    const qb = this as { context?: TxHandle | undefined };
    return inOwnTransaction(sub, tag.em, async (trx) => {
      qb.context = trx;
      try {
        return await captured(sub, this, meta, action, trx, run);
      } finally {
        qb.context = undefined;
      }
    });
  };
}

/**
 * What a QueryBuilder write does. An update or delete whose where needs a join (a relation filter)
 * is a SELECT until it runs: MikroORM flags it and rewrites it as `… where pk in (subquery)` when
 * the statement is built.
 */
function writeAction(qb: QueryBuilderLike): Action | undefined {
  const flags = qb.state?.flags;
  if (flags?.has("UPDATE_SUB_QUERY")) return "update";
  if (flags?.has("DELETE_SUB_QUERY")) return "delete";
  return WRITES[qb.type];
}

// The write, and its event or its failure event. A write that sent no statement and fails with no
// driver code failed before SQL (its query could not be built: an operator MikroORM does not allow,
// a value its type cannot convert; or the application's code threw on the way): see `refusal`, with
// the criteria MikroORM kept for the statement it could not build (see `keptWhere`).
async function captured(sub: KoperMikroOrmSubscriber, qb: QueryBuilderLike, meta: Meta, action: Action, tx: TxHandle | undefined, run: () => Promise<unknown>): Promise<unknown> {
  const draft = (affected: number | null, built = true) => qbDraft(sub, qb, meta, action, affected, built);
  const store: NativeCallStore = { results: [] };
  let result: unknown;
  try {
    result = await inNativeCall(store, run);
  } catch (error) {
    const info = driverInfo(error, meta.tableName);
    if (!store.sent && info.code === undefined) {
      const refused = refusal(error, meta.tableName);
      await sub.fail(tx, [draft(null, false)], refused.error, refused.info);
      throw error;
    }
    sub.poisonIfAborted(tx, info);
    await sub.fail(tx, [draft(null)], error, info);
    throw error;
  }
  if (sub.settings.bulk) await sub.record(tx, draft(affectedOf(result)));
  return result;
}

function qbDraft(sub: KoperMikroOrmSubscriber, qb: QueryBuilderLike, meta: Meta, action: Action, affected: number | null, built: boolean): ChangeDraft {
  const set = action === "delete" ? undefined : byProperty(meta, qb.state?.data);
  // An upsert's conflict target is not a WHERE: which row it hit is unknown.
  const criteria: Criteria = qb.type === "UPSERT" || action === "insert" ? null : built ? whereCriteria(meta, qb.getQuery(), qb.getParams()) : keptWhere(meta, qb);
  return sub.settings.drafts.bulk(meta, action, criteria, set, affected);
}

/**
 * The where of a QueryBuilder whose statement could not be built, as MikroORM keeps it for the
 * statement (`state.cond`: the application's where with its values converted for the database),
 * when it is in the entity's property names, by which core redacts a where at any depth. A raw
 * fragment (a symbol key), an alias- or column-named key, an embeddable's flattened column or a
 * relation filter's join (the update/delete becomes `… where pk in (subquery)`) leave it untold: null.
 */
function keptWhere(meta: Meta, qb: QueryBuilderLike): Criteria {
  const state = qb.state;
  if (!state || state.flags?.has("UPDATE_SUB_QUERY") || state.flags?.has("DELETE_SUB_QUERY")) return null;
  return isObject(state.cond) && byProperties(meta, state.cond) ? { kind: "where", where: plainWhere(meta, state.cond) } : null;
}

const LOGICAL = new Set(["$and", "$or", "$not"]);

function byProperties(meta: Meta, cond: object): boolean {
  if (Object.getOwnPropertySymbols(cond).length > 0) return false;
  return Object.entries(cond).every(([key, value]) => {
    if (LOGICAL.has(key)) return (Array.isArray(value) ? value : [value]).every((inner) => isObject(inner) && byProperties(meta, inner));
    const prop = meta.properties[key] as EntityProperty<AnyEntity> | undefined;
    return prop !== undefined && !prop.embedded && plainKeys(value);
  });
}

// Below a property: operators, a JSON document's keys, never a raw fragment (a symbol key, or a
// value: a collection operator's sub-query, its parameters any entity's) or an alias.
function plainKeys(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(plainKeys);
  if (!isObject(value) || value instanceof Date) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(value).length > 0) return false;
  return Object.entries(value).every(([key, inner]) => !key.includes(".") && plainKeys(inner));
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The WHERE clause of a statement and the parameters it binds (not those of SET), counted by the
 * `?` placeholders before it (MikroORM's QueryBuilder writes `?` on every database). `columns`
 * names, per parameter, the property of the entity it is compared with where the clause says so
 * plainly (`col = ?`, `col in (?, ?)`); the capture masks the others on an entity with rules.
 */
function whereCriteria(meta: Meta, sql: string, params: readonly unknown[]): Criteria {
  const at = sql.search(/\swhere\s/i);
  if (at < 0) return null;
  const before = placeholders(sql.slice(0, at));
  const clause = sql.slice(at).replace(/^\s*where\s+/i, "").replace(/\s+returning\s[\s\S]*$/i, "").trim();
  const count = placeholders(clause);
  // A subquery (a relation filter) or a join (anywhere in the statement: MikroORM's UPDATE … JOIN on
  // MySQL) compares columns of other tables, which may share a name with this entity's: none is told.
  const single = !/\b(select|join)\b/i.test(sql.replace(QUOTED, ""));
  const columns: (string | undefined)[] = [];
  clause.replace(/'(?:[^']|'')*'|"[^"]*"|`[^`]*`|\?/g, (match, offset: number) => {
    if (match === "?") columns.push(single ? propertyOfColumn(meta, columnBefore(clause.slice(0, offset))) : undefined);
    return match;
  });
  return { kind: "sql", sql: clause, parameters: params.slice(before, before + count), columns };
}

const QUOTED = /'(?:[^']|'')*'|"[^"]*"|`[^`]*`/g;

// Placeholders outside quoted strings and identifiers.
function placeholders(sql: string): number {
  return (sql.replace(QUOTED, "").match(/\?/g) ?? []).length;
}

const NAME = String.raw`(?:"[^"]+"|\x60[^\x60]+\x60|[A-Za-z_][\w$]*)`;
const COLUMN = String.raw`(?:"([^"]+)"|\x60([^\x60]+)\x60|([A-Za-z_][\w$]*))`;
// The column must stand alone on its side of the comparison: at the clause's start, after `(`, or
// after and/or/not, with at most a qualifier. Anything else before it (`a || col`, `x::text`,
// `col + 1`) makes the parameter compared with an expression, which is not told.
const COMPARED = new RegExp(
  String.raw`(?:^|\(|\b(?:and|or|not)\s)\s*(?:${NAME}\.)?${COLUMN}\s*(?:=|<>|!=|<=|>=|<|>|(?:not\s+)?i?like|(?:not\s+)?in\s*\((?:\s*\?\s*,)*|(?:not\s+)?between(?:\s+\?\s+and)?)\s*\(?\s*$`,
  "i",
);

// Clauses longer than this leave their parameters untold (masked where rules exist) rather than scan on.
const MAX_TOLD_PREFIX = 4000;

// The column a placeholder is compared with, from the whole clause before it (`a0`.`id` = → id): the
// match must start where a comparison can start, so the text is never cut.
function columnBefore(text: string): string | undefined {
  if (text.length > MAX_TOLD_PREFIX) return undefined;
  const match = COMPARED.exec(text);
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}

function propertyOfColumn(meta: Meta, column: string | undefined): string | undefined {
  if (column === undefined) return undefined;
  return meta.props.find((p) => p.fieldNames?.length === 1 && p.fieldNames[0] === column && !p.embedded)?.name;
}

// The QueryBuilder keeps the SET/VALUES data by column name, JSON as text: back to property names
// and values, an embeddable's flattened columns (`address_city`) back into its object (`address: { city }`).
function byProperty(meta: Meta, data: Record<string, unknown> | undefined): Row | undefined {
  if (!data || typeof data !== "object" || Array.isArray(data)) return undefined;
  const out: Row = {};
  for (const [field, value] of Object.entries(data)) {
    const prop = meta.props.find((p) => p.fieldNames?.[0] === field) ?? meta.properties[field];
    if (!prop?.embedded) {
      out[prop?.name ?? field] = prop ? columnValue(prop, value) : value;
      continue;
    }
    let target = out;
    for (const name of embeddedPath(meta, prop).slice(0, -1)) target = (target[name] ??= {}) as Row;
    target[String(prop.embedded[1])] = columnValue(prop, value);
  }
  return out;
}

// The property names from the entity down to an embedded column's embeddable: `["address", "city"]`.
function embeddedPath(meta: Meta, prop: EntityProperty<AnyEntity>): string[] {
  if (!prop.embedded) return [prop.name];
  const parent = meta.properties[prop.embedded[0]];
  return [...(parent ? embeddedPath(meta, parent) : [String(prop.embedded[0])]), String(prop.embedded[1])];
}

function affectedOf(result: unknown): number | null {
  const value = (result as { affectedRows?: unknown } | null)?.affectedRows;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : null;
}
