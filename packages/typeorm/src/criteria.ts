import { AsyncLocalStorage } from "node:async_hooks";
import { methodOwner, type CriteriaDraft, type Row } from "@koper/core";
import type { EntityManager, EntityMetadata, ObjectLiteral, RelationMetadata } from "typeorm";

/** The criteria object an application passed to a criteria write, while that write runs. */
interface CallCriteria {
  target: unknown;
  criteria: unknown;
  /** TypeORM before 0.3.23 reads an array criteria as primary keys (`whereInIds`), later ones as OR-ed conditions. */
  arraysAreIds: boolean;
}

// TypeORM's hooks get only the SQL of a criteria write, never the object the caller passed:
// EntityManager's criteria methods are wrapped to keep it at hand for the hooks they cause.
const calls = new AsyncLocalStorage<CallCriteria>();
const WRAPPED = Symbol.for("koper.typeorm.criteria");
/** EntityManager methods whose second argument is the criteria (Repository delegates to them). */
const CRITERIA_METHODS = ["update", "delete", "softDelete", "restore", "increment", "decrement"] as const;

type Method = (this: EntityManager, target: unknown, criteria: unknown, ...rest: unknown[]) => Promise<unknown>;

/**
 * Wraps the criteria methods of the EntityManager class `manager` belongs to (once per TypeORM
 * copy: an application may load two). The wrapper only remembers the arguments for the hooks.
 */
export function rememberCriteria(manager: EntityManager): void {
  const proto = methodOwner(manager, "update");
  if (!proto || proto[WRAPPED]) return;
  // 0.3.23 moved the "primitive criteria" decision into OrmUtils.isPrimitiveCriteria (1.x: into
  // normalizeAndValidateWhereCriteria); before it, update/delete sent any array to whereInIds.
  const arraysAreIds = !/isPrimitiveCriteria|normalizeAndValidateWhereCriteria/.test(String(proto.update));
  for (const name of CRITERIA_METHODS) {
    const original = proto[name] as Method | undefined;
    if (typeof original !== "function") continue;
    proto[name] = function (this: EntityManager, target: unknown, criteria: unknown, ...rest: unknown[]) {
      return calls.run({ target, criteria, arraysAreIds }, () => original.call(this, target, criteria, ...rest));
    } satisfies Method;
  }
  proto[WRAPPED] = true;
}

/** The `where` criteria of the criteria write running now on `metadata`'s entity, if it is one. */
export function currentWhere(metadata: EntityMetadata): CriteriaDraft | undefined {
  const call = calls.getStore();
  if (!call || !targets(metadata, call.target)) return undefined;
  const where = toWhere(metadata, call.criteria, call.arraysAreIds);
  return where ? { kind: "where", where } : undefined;
}

function targets(metadata: EntityMetadata, target: unknown): boolean {
  if (target === metadata.target || target === metadata.name || target === metadata.tableName) return true;
  // delete(entityInstance, …) and EntitySchema targets
  const options = (target as { options?: { name?: unknown } } | null)?.options;
  return typeof target === "object" && target !== null && (target.constructor === metadata.target || options?.name === metadata.name);
}

/**
 * TypeORM criteria as a plain condition tree: a primary key value (or several) becomes
 * `{ id: value }` (`{ id: { $in: [...] } }`), an array of conditions `{ $or: [...] }`, and a
 * FindOperator `{ $<type>: value }` (`MoreThan(5)` → `{ $moreThan: 5 }`, `Not(In([1]))` →
 * `{ $not: { $in: [1] } }`).
 */
export function toWhere(metadata: EntityMetadata, criteria: unknown, arraysAreIds = false): Row | undefined {
  if (criteria === undefined || criteria === null) return undefined;
  const primary = metadata.primaryColumns;
  if (isPrimitive(criteria)) return primary.length === 1 ? { [primary[0]!.propertyPath]: criteria } : undefined;
  if (Array.isArray(criteria)) {
    if (criteria.length > 0 && criteria.every(isPrimitive)) {
      return primary.length === 1 ? { [primary[0]!.propertyPath]: { $in: [...criteria] } } : undefined;
    }
    // Old TypeORM reads each item as a key: only its primary columns select rows.
    const items = arraysAreIds ? criteria.map((item) => primaryPart(metadata, item)) : criteria;
    return { $or: items.map((item) => conditionOf(metadata, item)) };
  }
  const tree = conditionOf(metadata, criteria);
  return typeof tree === "object" && tree !== null && !Array.isArray(tree) ? (tree as Row) : undefined;
}

// A condition on `metadata`'s properties: a related entity given as a value narrowed as TypeORM narrows it.
function conditionOf(metadata: EntityMetadata, value: unknown): unknown {
  if (!isPlainCondition(value)) return condition(value);
  const out: Row = {};
  for (const [key, inner] of Object.entries(value as Row)) {
    if (inner === undefined) continue;
    const relation = metadata.findRelationWithPropertyPath(key);
    out[key] = relation && isPlainCondition(inner) ? relatedCondition(relation, inner as ObjectLiteral) : condition(inner);
  }
  return out;
}

/**
 * TypeORM selects by a related object (`update(Post, { author: user }, …)`) through its key: the
 * columns a to-one relation's join columns reference, else the related primary key, when the object
 * holds them all; only then does it look at the object's other fields. The criteria say the same,
 * so they never carry the related entity's other fields (which are another entity's, redaction included).
 */
function relatedCondition(relation: RelationMetadata, value: ObjectLiteral): unknown {
  const toOne = relation.isManyToOne || relation.isOneToOneOwner;
  const referenced = toOne ? relation.joinColumns.flatMap((column) => (column.referencedColumn ? [column.referencedColumn] : [])) : [];
  const primary = relation.inverseEntityMetadata.primaryColumns;
  for (const columns of [referenced, primary]) {
    if (columns.length > 0 && columns.every((column) => column.getEntityValue(value) != null)) {
      return Object.fromEntries(columns.map((column) => [column.propertyPath, condition(column.getEntityValue(value))]));
    }
  }
  return conditionOf(relation.inverseEntityMetadata, value);
}

function isPlainCondition(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !isFindOperator(value) && !(value instanceof Date) && !ArrayBuffer.isView(value);
}

function primaryPart(metadata: EntityMetadata, item: unknown): unknown {
  if (isPrimitive(item) || typeof item !== "object" || item === null) return { [metadata.primaryColumns[0]?.propertyPath ?? "id"]: item };
  return Object.fromEntries(metadata.primaryColumns.map((column) => [column.propertyPath, column.getEntityValue(item as Record<string, unknown>)]));
}

function condition(value: unknown): unknown {
  if (isFindOperator(value)) return operator(value);
  if (Array.isArray(value)) return value.map(condition);
  if (typeof value === "function") return { $sql: String((value as (alias: string) => unknown)("")) };
  if (typeof value !== "object" || value === null || value instanceof Date || ArrayBuffer.isView(value)) return value;
  const out: Row = {}; // a plain object, or an entity instance used as criteria
  for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = condition(inner);
  return out;
}

interface FindOperatorLike {
  _type: string;
  _value: unknown;
  _getSql?: unknown;
}

function operator(op: FindOperatorLike): Row {
  if (op._type === "raw" && typeof op._getSql === "function") return { $raw: String((op._getSql as (alias: string) => unknown)("")) };
  return { [`$${op._type}`]: condition(op._value) };
}

function isFindOperator(value: unknown): value is FindOperatorLike {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)["@instanceof"] === Symbol.for("FindOperator");
}

function isPrimitive(value: unknown): boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "bigint" || value instanceof Date;
}
