import type { Action, ChangeDraft, Row } from "@koper/core";
import { scalarsOf, uniqueAsWhere, type DraftFactory } from "./drafts.ts";
import type { PrismaFailure } from "./failures.ts";
import { backRelationOf, otherSideOf, type ModelInfo, type RelationField } from "./schema.ts";

/** Nested writes of one call: what the adapter adds to `include`, and what it builds after. */
export interface NestedPlan {
  /** Relation fields the adapter added to `include`/`select`, to strip from the result again. */
  added: string[];
  /** Relation fields whose rows in the result are exactly the rows inserted (to-one first). */
  inserted: string[];
  /** Events for nested writes the result cannot show, built before the call. */
  bulk: ChangeDraft[];
  /** Relation fields the call wrote: part of the parent's `changes`. */
  touched: string[];
}

const ACTIONS: Record<string, Action | "relink"> = {
  create: "insert",
  createMany: "insert",
  connectOrCreate: "insert",
  upsert: "update",
  update: "update",
  updateMany: "update",
  delete: "delete",
  deleteMany: "delete",
  connect: "relink",
  disconnect: "relink",
  set: "relink",
};

/**
 * Plans the nested writes in `args.data`. A parent `create` whose relation only creates rows
 * (`create`, `createMany`) can show them: the relation is added to `include` and its rows become
 * insert events. Anything else (nested writes under an update, `connectOrCreate`, `upsert`,
 * `update`, `delete`, re-linking rows by `connect`/`disconnect`/`set`) has no row in the result
 * that says what happened, so it becomes a bulk event of the related model, with `affected: null`.
 * Re-linking a many-to-many changes only the join table: no event beyond the parent's `changes`.
 */
export function planNested(
  models: Map<string, ModelInfo>,
  model: ModelInfo,
  operation: string,
  args: Record<string, unknown>,
  drafts: DraftFactory,
  wanted: (model: ModelInfo) => boolean,
  parent?: Row,
): NestedPlan {
  const writesRelation = operation === "upsert" ? writesAnyRelation(model, args.create) || writesAnyRelation(model, args.update) : writesAnyRelation(model, args.data);
  if (!writesRelation) return NO_NESTED;
  const parts = operation === "upsert" ? [args.create, args.update] : [args.data];
  const plan: NestedPlan = { added: [], inserted: [], bulk: [], touched: [] };
  const showable = operation === "create" && !hasSelect(args);
  for (const part of parts) {
    if (!isRecord(part)) continue;
    for (const [field, value] of Object.entries(part)) {
      const relation = model.relations.get(field);
      const related = relation ? models.get(relation.model) : undefined;
      if (!relation || !related || !isRecord(value)) continue;
      plan.touched.push(field);
      const ops = Object.keys(value);
      // Rows that write relations of their own are not all in the result: bulk, all the way down.
      if (showable && wanted(related) && ops.every((op) => op === "create" || op === "createMany") && !writesRelations(related, value)) {
        if (!includes(args, field)) plan.added.push(field);
        plan.inserted.push(field);
        continue;
      }
      planBulk({ models, drafts, wanted, out: plan.bulk }, relation, related, value, 0, parent && scopeOf(model, field, relation, related, parent));
    }
  }
  return plan;
}

/** The plan of a call that writes no relation (most calls): shared, never added to. */
export const NO_NESTED: NestedPlan = Object.freeze({ added: [], inserted: [], bulk: [], touched: [] });

function writesAnyRelation(model: ModelInfo, part: unknown): boolean {
  if (model.relations.size === 0 || !isRecord(part)) return false;
  for (const field in part) if (model.relations.has(field)) return true;
  return false;
}

interface BulkPlanning {
  models: Map<string, ModelInfo>;
  drafts: DraftFactory;
  wanted: (model: ModelInfo) => boolean;
  out: ChangeDraft[];
}

// One bulk event per nested operation of `related`, then the same for the relations its items write.
// `scope`: the related rows' foreign key to the parent row, when known (the parent's rows only).
function planBulk(planning: BulkPlanning, relation: RelationField, related: ModelInfo, value: Record<string, unknown>, depth: number, scope?: Row): void {
  for (const op of Object.keys(value)) {
    const action = ACTIONS[op];
    if (!action || (action === "relink" && (relation.manyToMany || relation.holdsKey))) continue;
    const items = op === "createMany" ? [undefined] : asList(value[op]);
    // `set` on a one-to-many unlinks every row of the parent first (their foreign key becomes
    // null), then links the listed ones: with the parent's key known, the unlinking is an event too.
    if (op === "set" && scope && planning.wanted(related)) planning.out.push(relinked(planning.drafts, related, scope, scope, true));
    for (const item of items) {
      if (!planning.wanted(related)) {
        // not captured
      } else if (action === "relink" && scope && isRecord(item)) planning.out.push(relinked(planning.drafts, related, item, scope, op === "disconnect"));
      else planning.out.push(nestedBulk(planning.drafts, related, action === "relink" ? "update" : action, op, item, scope));
      if (depth > 16) continue;
      for (const data of dataOf(op, item)) {
        for (const [field, inner] of Object.entries(data)) {
          const next = related.relations.get(field);
          const model = next ? planning.models.get(next.model) : undefined;
          if (next && model && isRecord(inner)) planBulk(planning, next, model, inner, depth + 1);
        }
      }
    }
  }
}

// The data objects of a nested operation's item, where deeper nested writes may be.
function dataOf(op: string, item: unknown): Record<string, unknown>[] {
  if (!isRecord(item)) return [];
  if (op === "create") return [item];
  if (op === "update" || op === "updateMany") return [isRecord(item.data) ? item.data : item];
  if (op === "upsert") return [item.create, item.update].filter(isRecord);
  if (op === "connectOrCreate") return [item.create].filter(isRecord);
  return [];
}

function writesRelations(related: ModelInfo, value: Record<string, unknown>): boolean {
  return asList(value.create).some((item) => isRecord(item) && Object.keys(item).some((field) => related.relations.has(field) && isRecord(item[field])));
}

/** Adds the planned relations to the call's `include`. */
export function withIncludes(args: Record<string, unknown>, plan: NestedPlan): Record<string, unknown> {
  if (plan.added.length === 0) return args;
  const include = { ...(args.include as Record<string, unknown> | undefined) };
  for (const field of plan.added) include[field] = true;
  return { ...args, include };
}

/** The insert events of the rows a create's result shows, and the result without added relations. */
export function insertedRows(models: Map<string, ModelInfo>, model: ModelInfo, plan: NestedPlan, row: Row, drafts: DraftFactory): { before: ChangeDraft[]; after: ChangeDraft[] } {
  const before: ChangeDraft[] = [];
  const after: ChangeDraft[] = [];
  for (const field of plan.inserted) {
    const relation = model.relations.get(field)!;
    const related = models.get(relation.model)!;
    // A to-one row is inserted first (the parent holds its key); list rows after the parent.
    const target = relation.list ? after : before;
    for (const child of asList(row[field])) target.push(drafts.inserted(related, child as Row));
  }
  for (const field of plan.added) delete row[field];
  return { before, after };
}

/**
 * The related rows' foreign key to `parent` (`{ orderId: 7 }`), for a relation whose other side
 * holds it: a nested `updateMany`/`deleteMany` touches only the parent's rows. Undefined when the
 * relation or the parent's referenced values are unknown.
 */
function scopeOf(model: ModelInfo, field: string, relation: RelationField, related: ModelInfo, parent: Row): Row | undefined {
  if (relation.manyToMany) {
    // No foreign key: the related rows linked to the parent (`{ orders: { some: { id: 7 } } }`);
    // on a self many-to-many, through the other field (alice's `following` have her in `followers`).
    const back = otherSideOf(model, field, relation, related);
    const key: Row = {};
    for (const name of model.key) key[name] = parent[name];
    if (!back || model.key.length === 0 || model.key.some((name) => key[name] === undefined || key[name] === null)) return undefined;
    return { [back]: { some: key } };
  }
  const back = backRelationOf(model, relation, related);
  if (!back || back.fields.length === 0 || back.fields.length !== back.references.length) return undefined;
  const scope: Row = {};
  for (const [i, field] of back.fields.entries()) {
    const value = parent[back.references[i]!];
    if (value === undefined || value === null) return undefined;
    scope[field] = value;
  }
  return scope;
}

// A nested filter limited to the parent's rows: merged when it names none of the scope's fields.
function scoped(where: unknown, scope: Row): Record<string, unknown> {
  if (!isRecord(where) || Object.keys(where).length === 0) return { ...scope };
  if (Object.keys(scope).some((field) => field in where)) return { AND: [scope, where] };
  return { ...where, ...scope };
}

// A one-to-many's rows re-linked to the parent (`set` = its foreign key) or unlinked from it (null).
function relinked(drafts: DraftFactory, related: ModelInfo, where: Record<string, unknown>, scope: Row, unlink: boolean): ChangeDraft {
  const set: Row = {};
  for (const field of Object.keys(scope)) set[field] = unlink ? null : scope[field];
  const filter = where === scope ? where : uniqueAsWhere(related, where);
  const draft = drafts.bulk(related, "update", { kind: "where", where: unlink && where !== scope ? scoped(filter, scope) : filter }, set, null);
  // Prisma sets @updatedAt on the rows it links, not on those it unlinks (verified on 7.10).
  if (unlink) draft.changes = Object.keys(scope);
  return draft;
}

function nestedBulk(drafts: DraftFactory, related: ModelInfo, action: Action, op: string, item: unknown, scope?: Row): ChangeDraft {
  const value = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
  let where: unknown = undefined;
  let set: unknown = undefined;
  if (op === "create") set = value;
  else if (op === "createMany") set = undefined;
  else if (op === "update" || op === "updateMany") [where, set] = "data" in value ? [value.where, value.data] : [undefined, value];
  else if (op === "upsert" || op === "connectOrCreate") [where, set] = [value.where, value.create];
  else if (typeof item === "object" && item !== null) where = value;
  if (isRecord(where)) where = uniqueAsWhere(related, where);
  // updateMany/deleteMany filter the parent's rows (`{}` is all of them, not every row of the table).
  if (scope && (op === "updateMany" || op === "deleteMany")) where = scoped(where, scope);
  // The rows created under the parent hold its key (a nested create's data cannot name it).
  if (scope && (op === "create" || op === "createMany") && Object.keys(scope).every((field) => related.scalars.has(field))) set = { ...(set as Row | undefined), ...scope };
  const criteria = isRecord(where) ? { kind: "where" as const, where } : null;
  return drafts.bulk(related, action, criteria, isRecord(set) ? set : undefined, null);
}

function hasSelect(args: Record<string, unknown>): boolean {
  return isRecord(args.select);
}

function includes(args: Record<string, unknown>, field: string): boolean {
  return isRecord(args.include) && Boolean(args.include[field]);
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null || value === false) return [];
  if (Array.isArray(value)) return value;
  // createMany: { data: [...] }
  if (isRecord(value) && Array.isArray(value.data) && Object.keys(value).every((k) => k === "data" || k === "skipDuplicates")) return value.data;
  return [value];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The nested rows a failed create's failure belongs to, when it is theirs and not the parent's:
 * a validation error naming a required field the parent has set but some nested rows lack (those
 * rows), or a database error on the nested model's table (every row of the statement). Empty
 * when the failure is the parent's.
 */
export function failedNestedRows(
  models: Map<string, ModelInfo>,
  model: ModelInfo,
  args: Record<string, unknown>,
  plan: NestedPlan,
  failure: PrismaFailure,
  drafts: DraftFactory,
): ChangeDraft[] {
  const data = (isRecord(args.data) ? args.data : {}) as Record<string, unknown>;
  const out: ChangeDraft[] = [];
  for (const field of plan.inserted) {
    const related = models.get(model.relations.get(field)!.model)!;
    const rows = asList((data[field] as Record<string, unknown> | undefined)?.create).concat(asList((data[field] as Record<string, unknown> | undefined)?.createMany)).filter(isRecord);
    const missing = failure.missing;
    let culprits: Record<string, unknown>[] = [];
    if (missing !== undefined) {
      const parentLacks = model.scalars.has(missing) && (data[missing] === undefined || data[missing] === null);
      if (!parentLacks && related.scalars.has(missing)) culprits = rows.filter((row) => row[missing] === undefined || row[missing] === null);
    } else if (failure.info.table === related.table) {
      culprits = rows;
    }
    for (const row of culprits) out.push(drafts.failed(related, "insert", null, scalarsOf(related, row)));
  }
  return out;
}
