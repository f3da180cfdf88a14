import type { Action, ChangeDraft, Row } from "@koper/core";
import { uniqueAsWhere, type Criteria, type DraftFactory } from "./drafts.ts";
import { asList, dataOf, isRecord, keyWhere, linkedTo, probeKey, updateOf } from "./nested-args.ts";
import type { Probed } from "./nested-probes.ts";
import { backRelationOf, otherSideOf, pairedFieldOf, type ModelInfo, type RelationField } from "./schema.ts";

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

/** What planning a call's nested bulk events needs. */
export interface BulkPlanning {
  models: Map<string, ModelInfo>;
  drafts: DraftFactory;
  wanted: (model: ModelInfo) => boolean;
  out: ChangeDraft[];
  /** What the reads before the write found (`nestedProbes`); undefined when nothing was read. */
  probed: Probed | undefined;
}

/** The row above a nested operation: the parent, or a nested item's row one level up. */
export interface Above {
  model: ModelInfo;
  /** Its relation field the operation writes. */
  field: string;
  /** The related rows' link to it (`{ orderId: 7 }`; `{ id: 12 }` when it holds the key), when known. */
  scope: Row | undefined;
  /** A filter selecting it, when known: a to-one's criteria when no scope is. */
  where: Record<string, unknown> | undefined;
}

/** One nested item: its event, the data objects it wrote (deeper writes), and its row's filter. */
interface Step {
  draft?: ChangeDraft;
  data: Record<string, unknown>[];
  where?: Record<string, unknown> | undefined;
}

/**
 * One bulk event per nested operation of `related`, then the same for the relations its items
 * write. Only the branch of an upsert or connectOrCreate that ran (read before the write) writes
 * its nested rows; when which one ran is unknown, neither's are published.
 */
export function planBulk(planning: BulkPlanning, relation: RelationField, related: ModelInfo, value: Record<string, unknown>, depth: number, above: Above): void {
  const scope = above.scope;
  // The related rows of the row above: a to-one's one row, a list's rows (a superset of the item's).
  const own = scope ?? linkedOf(above, relation, related);
  for (const op of Object.keys(value)) {
    const action = ACTIONS[op];
    if (!action || (action === "relink" && (relation.manyToMany || relation.holdsKey))) continue;
    const items = op === "createMany" ? [undefined] : asList(value[op]);
    // `set` on a one-to-many unlinks every row of the parent first (their foreign key becomes
    // null), then links the listed ones: with the parent's key known, the unlinking is an event too.
    if (op === "set" && scope && planning.wanted(related)) planning.out.push(relinked(planning.drafts, related, scope, scope, true));
    for (const item of items) {
      const step = stepOf(planning, relation, related, op, item, planning.probed?.get(probeKey(item, value)), scope, own);
      if (step.draft && planning.wanted(related)) planning.out.push(step.draft);
      if (depth > 16) continue;
      for (const data of step.data) {
        for (const [field, inner] of Object.entries(data)) {
          const next = related.relations.get(field);
          const model = next ? planning.models.get(next.model) : undefined;
          if (next && model && isRecord(inner)) planBulk(planning, next, model, inner, depth + 1, { model: related, field, scope: undefined, where: step.where });
        }
      }
    }
  }
}

// `found`: the row read before the write (null: none), undefined when not read; `own`: see planBulk.
function stepOf(planning: BulkPlanning, relation: RelationField, related: ModelInfo, op: string, item: unknown, found: Row | null | undefined, scope: Row | undefined, own: Row | undefined): Step {
  const drafts = planning.drafts;
  const fields = isRecord(item) ? item : {};
  const filter = (where: unknown) => (isRecord(where) ? uniqueAsWhere(related, where) : undefined);
  if (op === "create" || op === "createMany") return { draft: created(drafts, related, op === "create" ? fields : undefined, scope, null), data: dataOf(op, item) };
  if (op === "upsert" || op === "connectOrCreate") return branchOf(drafts, relation, related, op, fields, found, scope, own);
  if (op === "update" || op === "updateMany") {
    const [where, data] = updateOf(fields);
    // updateMany filters the parent's rows (`{}` is all of them); a to-one's row is the parent's.
    const criteria = op === "updateMany" ? within(filter(where), scope) : relation.list ? filter(where) : within(filter(where), own);
    return { draft: drafts.bulk(related, "update", whereOf(criteria), isRecord(data) ? data : undefined, null), data: dataOf(op, item), where: criteria };
  }
  if (op === "delete" || op === "deleteMany") {
    // A to-one's row whose key the parent held is named by the key read before (null after).
    const criteria = op === "deleteMany" ? within(filter(item), scope) : relation.list ? filter(item) : ((found && keyWhere(related, found)) ?? within(filter(item), own));
    return { draft: drafts.bulk(related, "delete", whereOf(criteria), undefined, null), data: [] };
  }
  // connect, disconnect, set: a to-one's `disconnect: true` unlinks the parent's one row.
  const target = isRecord(item) ? item : item === true && !relation.list ? scope : undefined;
  if (scope && target) return { draft: relinked(drafts, related, target, scope, op === "disconnect"), data: [] };
  // Unknown parent key: the row a to-one disconnects is the parent's; the one it connects is not yet.
  const criteria = op === "disconnect" && !relation.list ? within(filter(item), own) : filter(item);
  return { draft: drafts.bulk(related, "update", whereOf(criteria), undefined, null), data: [] };
}

/**
 * An upsert's or connectOrCreate's item. Its row found before the write: an update by its key with
 * `update`'s data (connectOrCreate: a connect); none: an insert of `create`'s data. Not read (in a
 * batch, deeper down, or after another operation on the relation): an update with no values of the
 * parent's related rows, among which the row is after the call whichever branch ran.
 */
function branchOf(drafts: DraftFactory, relation: RelationField, related: ModelInfo, op: string, item: Record<string, unknown>, found: Row | null | undefined, scope: Row | undefined, own: Row | undefined): Step {
  const create = isRecord(item.create) ? item.create : undefined;
  if (found === null) return { draft: created(drafts, related, create, scope, 1), data: create ? [create] : [] };
  const where = isRecord(item.where) ? (relation.list || op === "connectOrCreate" ? uniqueAsWhere(related, item.where) : item.where) : undefined;
  if (found === undefined) return { draft: drafts.bulk(related, "update", whereOf(own ?? where), undefined, null), data: [] };
  if (op === "connectOrCreate") {
    // Connected: a many-to-many's join table or the parent's own row changes (no event of the
    // related model), else the related row's foreign key, as `connect` does.
    if (relation.manyToMany || relation.holdsKey) return { data: [] };
    return { draft: scope ? relinked(drafts, related, where ?? {}, scope, false) : drafts.bulk(related, "update", whereOf(where), undefined, null), data: [] };
  }
  const update = isRecord(item.update) ? item.update : undefined;
  const criteria = keyWhere(related, found) ?? within(where, own);
  return { draft: drafts.bulk(related, "update", whereOf(criteria), update, 1), data: update ? [update] : [], where: criteria };
}

// Rows created under the parent hold its key (a nested create's data cannot name it).
function created(drafts: DraftFactory, related: ModelInfo, set: Row | undefined, scope: Row | undefined, affected: number | null): ChangeDraft {
  const values = scope && Object.keys(scope).every((field) => related.scalars.has(field)) ? { ...set, ...scope } : set;
  return drafts.bulk(related, "insert", null, values, affected);
}

function whereOf(where: Record<string, unknown> | undefined): Criteria {
  return where ? { kind: "where", where } : null;
}

// A filter limited to `scope` when known; the filter alone (or undefined) when not.
function within(where: Record<string, unknown> | undefined, scope: Row | undefined): Record<string, unknown> | undefined {
  return scope ? scoped(where, scope) : where;
}

/**
 * The related rows' link to `parent`, for a relation of `model` (`field`): the foreign key they
 * hold (`{ orderId: 7 }`), the key the parent holds (`{ id: 12 }` for `customerId: 12`), or on a
 * many-to-many the rows linked to it. Undefined when the relation or the parent's values are unknown.
 */
export function scopeOf(model: ModelInfo, field: string, relation: RelationField, related: ModelInfo, parent: Row): Row | undefined {
  if (relation.holdsKey) return valuesOf(parent, relation.fields, relation.references);
  if (relation.manyToMany) {
    // No foreign key: the related rows linked to the parent (`{ orders: { some: { id: 7 } } }`);
    // on a self many-to-many, through the other field (alice's `following` have her in `followers`).
    const back = otherSideOf(model, field, relation, related);
    const key = valuesOf(parent, model.key, model.key);
    return back && key ? { [back]: { some: key } } : undefined;
  }
  const back = backRelationOf(model, relation, related);
  return back ? valuesOf(parent, back.references, back.fields) : undefined;
}

// `{ [to[i]]: row[from[i]] }`; undefined when a value is missing or the lists do not pair.
function valuesOf(row: Row, from: string[], to: string[]): Row | undefined {
  if (from.length === 0 || from.length !== to.length) return undefined;
  const out: Row = {};
  for (const [i, field] of from.entries()) {
    const value = row[field];
    if (value === undefined || value === null) return undefined;
    out[to[i]!] = value;
  }
  return out;
}

// The related rows of the row above, through the relation's other side (`{ order: { is: … } }`).
function linkedOf(above: Above, relation: RelationField, related: ModelInfo): Row | undefined {
  if (!above.where) return undefined;
  const back = pairedFieldOf(above.model, above.field, relation, related);
  return back ? linkedTo(back, above.where) : undefined;
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
