import type { Row } from "@koper/core";
import { uniqueAsWhere } from "./drafts.ts";
import { asList, dataOf, isRecord, linkedTo, namesRelation, probeKey, readable } from "./nested-args.ts";
import { pairedFieldOf, type ModelInfo, type RelationField } from "./schema.ts";

/** A read made before a write, in its transaction, for one nested item: does its row exist? */
export interface Probe {
  /** The nested item it is read for (`probeKey`). */
  item: object;
  model: ModelInfo;
  where: Record<string, unknown>;
}

/** What the probes found, by nested item: the row (its key fields), or null when there was none. */
export type Probed = Map<object, Row | null>;

/** The probes of a call that needs none (most calls): shared, never added to. */
export const NO_PROBES: readonly Probe[] = Object.freeze([]);

interface Collecting {
  models: Map<string, ModelInfo>;
  wanted: (model: ModelInfo) => boolean;
  /** Whether nested bulk events are published: else only the parent's own `changes` need reads. */
  bulk: boolean;
  out: Probe[];
}

/**
 * The reads that tell what a call's nested writes do, made before it in its transaction: which
 * branch a `connectOrCreate` (at any depth) or an `upsert` directly under an update/upsert takes
 * (whether its row exists), and which row a to-one `delete` removes when the parent holds the key
 * (null after the delete). A to-one `upsert` directly under the parent whose key the parent holds
 * is read also for the parent's `changes` (it re-points the key only when it creates), even with
 * `bulk` off or the related model not captured. Empty for most calls.
 */
export function nestedProbes(models: Map<string, ModelInfo>, model: ModelInfo, operation: string, args: Record<string, unknown>, wanted: (model: ModelInfo) => boolean, bulk = true): readonly Probe[] {
  if (model.relations.size === 0 || !(operation === "create" || operation === "update" || operation === "upsert")) return NO_PROBES;
  if (!namesRelation(model, args.data) && !namesRelation(model, args.create) && !namesRelation(model, args.update)) return NO_PROBES;
  const collecting: Collecting = { models, wanted, bulk, out: [] };
  const parent = operation !== "create" && isRecord(args.where) ? uniqueAsWhere(model, args.where) : undefined;
  for (const part of operation === "upsert" ? [args.create, args.update] : [args.data]) collect(collecting, model, part, 0, parent);
  return collecting.out.length > 0 ? collecting.out : NO_PROBES;
}

// `parent`: a filter selecting the parent row, for the relations directly under it only.
function collect(collecting: Collecting, owner: ModelInfo, data: unknown, depth: number, parent: Record<string, unknown> | undefined): void {
  if (!isRecord(data) || depth > 16) return;
  for (const [field, value] of Object.entries(data)) {
    const relation = owner.relations.get(field);
    const related = relation ? collecting.models.get(relation.model) : undefined;
    if (!relation || !related || !isRecord(value)) continue;
    const back = parent ? pairedFieldOf(owner, field, relation, related) : undefined;
    const linked = back && parent ? linkedTo(back, parent) : undefined;
    for (const op of Object.keys(value)) {
      for (const item of asList(value[op])) {
        const data = dataOf(op, item);
        // An uncaptured row's branch still tells which nested rows below it were written.
        const forBulk = collecting.bulk && (collecting.wanted(related) || data.some((inner) => namesRelation(related, inner)));
        const asked = forBulk || (op === "upsert" && relation.holdsKey && !relation.list);
        const where = asked ? probeWhere(op, relation, related, item, value, linked) : undefined;
        if (where) collecting.out.push({ item: probeKey(item, value), model: related, where });
        if (collecting.bulk) for (const inner of data) collect(collecting, related, inner, depth + 1, undefined);
      }
    }
  }
}

// `linked`: the related rows of the parent row (known directly under it only).
function probeWhere(op: string, relation: RelationField, related: ModelInfo, item: unknown, value: Record<string, unknown>, linked: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (op === "connectOrCreate") return isRecord(item) && isRecord(item.where) && readable(op, value) ? uniqueAsWhere(related, item.where) : undefined;
  if (!linked) return undefined;
  if (op === "upsert" && isRecord(item) && readable(op, value)) {
    // A list's item names its row (unique); a to-one's `where` filters the parent's one row.
    const own = relation.list && isRecord(item.where) ? uniqueAsWhere(related, item.where) : item.where;
    return isRecord(own) ? { AND: [own, linked] } : linked;
  }
  if (op === "delete" && relation.holdsKey && (item === true || isRecord(item))) return isRecord(item) ? { AND: [item, linked] } : linked;
  return undefined;
}
