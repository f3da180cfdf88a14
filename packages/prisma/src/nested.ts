import type { Action, ChangeDraft, Row } from "@koper/core";
import { scalarsOf, type DraftFactory } from "./drafts.ts";
import type { PrismaFailure } from "./failures.ts";
import type { ModelInfo } from "./schema.ts";

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
  wanted: (model: string) => boolean,
): NestedPlan {
  const plan: NestedPlan = { added: [], inserted: [], bulk: [], touched: [] };
  const data = operation === "upsert" ? undefined : args.data;
  const parts = operation === "upsert" ? [args.create, args.update] : [data];
  const showable = operation === "create" && !hasSelect(args);
  for (const part of parts) {
    if (typeof part !== "object" || part === null) continue;
    for (const [field, value] of Object.entries(part)) {
      const relation = model.relations.get(field);
      if (!relation || typeof value !== "object" || value === null) continue;
      plan.touched.push(field);
      const related = models.get(relation.model);
      if (!related || !wanted(related.name)) continue;
      const ops = Object.keys(value);
      if (showable && ops.every((op) => op === "create" || op === "createMany")) {
        if (!includes(args, field)) plan.added.push(field);
        plan.inserted.push(field);
        continue;
      }
      for (const op of ops) {
        const action = ACTIONS[op];
        if (!action || (action === "relink" && (relation.manyToMany || relation.holdsKey))) continue;
        const items = op === "createMany" ? [undefined] : asList((value as Record<string, unknown>)[op]);
        for (const item of items) {
          plan.bulk.push(nestedBulk(drafts, related, action === "relink" ? "update" : action, op, item));
        }
      }
    }
  }
  return plan;
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

function nestedBulk(drafts: DraftFactory, related: ModelInfo, action: Action, op: string, item: unknown): ChangeDraft {
  const value = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
  let where: unknown = undefined;
  let set: unknown = undefined;
  if (op === "create") set = value;
  else if (op === "createMany") set = undefined;
  else if (op === "update" || op === "updateMany") [where, set] = "data" in value ? [value.where, value.data] : [undefined, value];
  else if (op === "upsert" || op === "connectOrCreate") [where, set] = [value.where, value.create];
  else if (typeof item === "object" && item !== null) where = value;
  const criteria = isRecord(where) ? { kind: "where" as const, where } : null;
  return drafts.bulk(related, action, criteria, isRecord(set) ? scalarsOf(related, set) : undefined, null);
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
