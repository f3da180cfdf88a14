import type { ChangeDraft, Row } from "@koper/core";
import { keyOf, scalarsOf, type DraftFactory } from "./drafts.ts";
import type { PrismaFailure } from "./failures.ts";
import { asList, isRecord, namesRelation } from "./nested-args.ts";
import { planBulk, scopeOf } from "./nested-bulk.ts";
import type { Probed } from "./nested-probes.ts";
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

/**
 * Plans the nested writes in `args.data`. A parent `create` whose relation only creates rows
 * (`create`, `createMany`) can show them: the relation is added to `include` and its rows become
 * insert events. Anything else (nested writes under an update, `connectOrCreate`, `upsert`,
 * `update`, `delete`, re-linking rows by `connect`/`disconnect`/`set`) has no row in the result
 * that says what happened, so it becomes a bulk event of the related model (`planBulk`).
 * Re-linking a many-to-many changes only the join table: no event beyond the parent's `changes`.
 * `parent`: the row written (after the call), `probed`: what `nestedProbes` read before it.
 */
export function planNested(
  models: Map<string, ModelInfo>,
  model: ModelInfo,
  operation: string,
  args: Record<string, unknown>,
  drafts: DraftFactory,
  wanted: (model: ModelInfo) => boolean,
  parent?: Row,
  probed?: Probed,
): NestedPlan {
  const writesRelation = operation === "upsert" ? namesRelation(model, args.create) || namesRelation(model, args.update) : namesRelation(model, args.data);
  if (!writesRelation) return NO_NESTED;
  const parts = operation === "upsert" ? [args.create, args.update] : [args.data];
  const plan: NestedPlan = { added: [], inserted: [], bulk: [], touched: [] };
  const planning = { models, drafts, wanted, out: plan.bulk, probed };
  const showable = operation === "create" && !hasSelect(args);
  const where = parent ? (keyOf(model, parent) ?? undefined) : undefined;
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
      planBulk(planning, relation, related, value, 0, { model, field, scope: parent && scopeOf(model, field, relation, related, parent), where });
    }
  }
  return plan;
}

/** The plan of a call that writes no relation (most calls): shared, never added to. */
export const NO_NESTED: NestedPlan = Object.freeze({ added: [], inserted: [], bulk: [], touched: [] });

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

function hasSelect(args: Record<string, unknown>): boolean {
  return isRecord(args.select);
}

function includes(args: Record<string, unknown>, field: string): boolean {
  return isRecord(args.include) && Boolean(args.include[field]);
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
