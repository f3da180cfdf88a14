import type { ModelInfo, RelationField } from "./schema.ts";

/** The items of one nested operation: a list as given, one object or `true` as a list of one. */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null || value === false) return [];
  if (Array.isArray(value)) return value;
  // createMany: { data: [...] }
  if (isRecord(value) && Array.isArray(value.data) && Object.keys(value).every((k) => k === "data" || k === "skipDuplicates")) return value.data;
  return [value];
}

/** Whether `part` (a call's `data`, `create` or `update`) names a relation of `model`. */
export function namesRelation(model: ModelInfo, part: unknown): boolean {
  if (model.relations.size === 0 || !isRecord(part)) return false;
  for (const field in part) if (model.relations.has(field)) return true;
  return false;
}

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A nested to-one `update`'s filter and data: `{ where?, data }` or the data alone. A field named
 * `data` in the related model makes the second form read as the first (Prisma's own ambiguity).
 */
export function updateOf(item: Record<string, unknown>): [where: unknown, data: unknown] {
  return "data" in item ? [item.where, item.data] : [undefined, item];
}

/** A filter on `related` selecting the rows linked to the parent rows `where` selects. */
export function linkedTo(back: [string, RelationField], where: Record<string, unknown>): Record<string, unknown> {
  const [field, relation] = back;
  return { [field]: relation.list ? { some: where } : { is: where } };
}

/**
 * Whether a read before the call tells the branch an item of `op` (`upsert`, `connectOrCreate`)
 * takes: Prisma runs a relation's operations in the call's order, and another one on the same
 * relation may create, delete or re-link the row first (`{ delete, upsert }` of one line inserts).
 */
export function readable(op: string, value: Record<string, unknown>): boolean {
  const others = Object.keys(value).filter((other) => other !== op);
  return op === "upsert" ? others.length === 0 : others.every((other) => other === "connect" || other === "disconnect" || other === "set");
}

/** The primary key of a read row as a filter, or undefined when the model has none. */
export function keyWhere(model: ModelInfo, row: Record<string, unknown>): Record<string, unknown> | undefined {
  if (model.key.length === 0) return undefined;
  const where: Record<string, unknown> = {};
  for (const field of model.key) where[field] = row[field];
  return where;
}

/** The data objects of a nested operation's item, where deeper nested writes may be (both branches of an upsert). */
export function dataOf(op: string, item: unknown): Record<string, unknown>[] {
  if (!isRecord(item)) return [];
  if (op === "create") return [item];
  if (op === "update" || op === "updateMany") return [isRecord(item.data) ? item.data : item];
  if (op === "upsert") return [item.create, item.update].filter(isRecord);
  if (op === "connectOrCreate") return [item.create].filter(isRecord);
  return [];
}

/** What a read before the write is kept under: the item, or for a to-one's `delete: true` its operations. */
export function probeKey(item: unknown, operations: Record<string, unknown>): object {
  return isRecord(item) ? item : operations;
}
