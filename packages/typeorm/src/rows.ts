import type { Row } from "@koper/core";
import type { EntityMetadata, ObjectLiteral } from "typeorm";

/** A column of an entity (TypeORM does not export the class from its root). */
export type ColumnMetadata = EntityMetadata["columns"][number];

/**
 * The name a column's value carries in events: its property path, except for a relation's join
 * column, which carries the database name ("customerId") because the property ("customer") holds
 * an object in the entity, and the event has only its id.
 */
export function fieldName(column: ColumnMetadata): string {
  const relation = column.relationMetadata;
  return relation && column.propertyName === relation.propertyName ? column.databaseName : column.propertyPath;
}

/** The event field of a database column of `metadata`, or undefined for a column it does not have. */
export function fieldOfColumn(metadata: EntityMetadata, column: string): string | undefined {
  const found = metadata.columns.find((c) => c.databaseName === column);
  return found ? fieldName(found) : undefined;
}

/**
 * A snapshot of the entity's column values (a copy: the entity may change before commit). A
 * relation's join column without a property of its own (`@ManyToOne() author`, no `authorId`
 * column declared) is "virtual" in TypeORM's metadata; its value is the related entity's key.
 */
export function toRow(metadata: EntityMetadata, entity: ObjectLiteral | undefined): Row {
  const row: Row = {};
  if (!entity) return row;
  for (const { column, field, path, property } of planOf(metadata)) {
    // A plain column's value is its property (what getEntityValue returns for it, without the call).
    const value: unknown = property !== undefined ? entity[property] : columnValue(column, entity);
    if (value === undefined) continue;
    if (path) setPath(row, path, value);
    else row[field] = value;
  }
  return row;
}

/**
 * A column's value in `entity`, as TypeORM's `getEntityValue` reads it, except that the join column
 * of a lazy relation (`author: Promise<User>`) is read only from what is loaded: its property is
 * a getter that loads the relation, a query (in whatever state the transaction is) Koper never makes.
 */
export function columnValue(column: ColumnMetadata, entity: ObjectLiteral): unknown {
  const relation = column.relationMetadata;
  if (!relation?.isLazy || column.propertyName !== relation.propertyName || column.embeddedMetadata) return column.getEntityValue(entity);
  const related: unknown = relation.getEntityValue(entity); // the loaded value (`__author__`), never a load
  if (related === null) return null;
  return typeof related === "object" && related !== undefined && column.referencedColumn ? column.referencedColumn.getEntityValue(related as ObjectLiteral) : undefined;
}

/** How `toRow` reads one column, worked out once per entity metadata. */
export interface ColumnPlan {
  column: ColumnMetadata;
  field: string;
  /** An embedded column's property path ("address.city" → ["address", "city"]). */
  path: string[] | undefined;
  /** The property holding a plain column's value: no embedded, relation or referenced column. */
  property: string | undefined;
}

const plans = new WeakMap<EntityMetadata, ColumnPlan[]>();

/** The columns an event row carries, each with its field and, for an embedded one, its path. */
export function planOf(metadata: EntityMetadata): ColumnPlan[] {
  let plan = plans.get(metadata);
  if (!plan) {
    plan = metadata.columns
      .filter((column) => !column.isVirtual || column.relationMetadata)
      .map((column) => ({
        column,
        field: fieldName(column),
        path: column.embeddedMetadata ? column.propertyPath.split(".") : undefined,
        property: column.embeddedMetadata || column.relationMetadata || column.referencedColumn ? undefined : column.propertyName,
      }));
    plans.set(metadata, plan);
  }
  return plan;
}

/** Embedded columns ("address.city") keep the entity's shape: { address: { city } }. */
export function setPath(row: Row, path: readonly string[], value: unknown): void {
  let target = row;
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i]!;
    const next = target[part];
    target = (typeof next === "object" && next !== null ? next : (target[part] = {})) as Row;
  }
  target[path[path.length - 1]!] = value;
}

/** The primary key of the entity by property name, or null when a part of it is unknown. */
export function keyOf(metadata: EntityMetadata, ...candidates: (ObjectLiteral | undefined)[]): Row | null {
  const key: Row = {};
  const primary = metadata.primaryColumns;
  for (const column of primary) {
    let value: unknown;
    for (const entity of candidates) {
      value = entity ? columnValue(column, entity) : undefined;
      if (value !== undefined && value !== null) break;
    }
    if (value === undefined || value === null) return null;
    key[fieldName(column)] = value;
  }
  return primary.length > 0 ? key : null;
}

/** Property names of the columns TypeORM found changed (its diff, without auto-set columns). */
export function changedFields(columns: readonly ColumnMetadata[], relations: readonly { propertyPath: string }[]): string[] {
  const names = new Set<string>();
  for (const column of columns) names.add(fieldName(column));
  for (const relation of relations) names.add(relation.propertyPath);
  return [...names];
}

/**
 * The join columns of owning to-one relations whose value `row` lacks: TypeORM read only the
 * relations the saved entity held, so an entity loaded without its `author` has no `authorId`.
 */
export function missingJoinColumns(metadata: EntityMetadata, row: Row): ColumnMetadata[] {
  return metadata.columns.filter((column) => column.relationMetadata && column.isVirtual && !column.embeddedMetadata && row[fieldName(column)] === undefined);
}

/**
 * The many-to-many relations whose related keys differ between the saved entity and the row
 * TypeORM read before (as relation ids): the junction rows this save added or removed.
 * A relation the entity does not hold (not loaded) did not change.
 */
export function changedManyToMany(metadata: EntityMetadata, entity: ObjectLiteral | undefined, databaseEntity: ObjectLiteral): string[] {
  const changed: string[] = [];
  for (const relation of metadata.manyToManyRelations) {
    const after: unknown = entity ? relation.getEntityValue(entity) : undefined;
    const before: unknown = relation.getEntityValue(databaseEntity);
    if (!Array.isArray(after) || !Array.isArray(before)) continue;
    const ids = (items: unknown[]) => new Set(items.map((item) => relatedKey(relation.inverseEntityMetadata, item)));
    const [a, b] = [ids(after), ids(before)];
    if (a.size !== b.size || [...a].some((id) => !b.has(id))) changed.push(relation.propertyPath);
  }
  return changed;
}

function relatedKey(metadata: EntityMetadata, item: unknown): string {
  if (typeof item !== "object" || item === null) return JSON.stringify(item);
  const map = metadata.getEntityIdMap(item as ObjectLiteral) ?? item;
  return JSON.stringify(Object.values(map as object).map(String));
}

/**
 * The SET values of a criteria update, by property name. TypeORM hands them as the object the
 * caller passed, which may hold raw SQL functions (`() => "qty + 1"`): those are described, not run.
 * A column TypeORM never updates (`update: false`) is left out, as TypeORM leaves it out of the SET.
 */
export function setValues(metadata: EntityMetadata, values: ObjectLiteral | undefined): Row | undefined {
  if (!values) return undefined;
  const row: Row = {};
  for (const [property, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const relation = metadata.findRelationWithPropertyPath(property);
    if (relation && relation.joinColumns.length > 0 && typeof value !== "function") {
      for (const column of relation.joinColumns) {
        if (!column.isUpdate) continue;
        const key = relatedValue(column, value);
        if (key !== undefined) row[fieldName(column)] = key;
      }
      continue;
    }
    const column = metadata.findColumnWithPropertyPath(property);
    if (column && !column.isUpdate) continue; // `update: false`: TypeORM leaves it out of the SET
    const name = column ? fieldName(column) : property;
    row[name] = typeof value === "function" ? { sql: String((value as () => unknown)()) } : value;
  }
  return row;
}

/**
 * What a join column is set to when its relation is set to `value`: the related row's key (an
 * entity, `{ id }`, or the key itself), never the related entity, whose fields are another
 * entity's business (and redaction).
 */
function relatedValue(column: ColumnMetadata, value: unknown): unknown {
  if (value === null || typeof value !== "object" || value instanceof Date || !column.referencedColumn) return value;
  return column.referencedColumn.getEntityValue(value as ObjectLiteral) as unknown;
}

/**
 * Fills the foreign keys of a row inserted by a cascade from its parent: TypeORM writes them
 * from the parent's subject but leaves the child's relation property empty (`line.order`), so
 * the hook's entity lacks them. The parent is found among the other entities of the same `save`.
 */
export function fillParentKeys(
  metadata: EntityMetadata,
  entity: ObjectLiteral | undefined,
  row: Row,
  siblings: readonly { metadata: EntityMetadata; entity?: ObjectLiteral | undefined }[],
): Row {
  if (!entity || siblings.length < 2) return row;
  for (const relation of metadata.relations) {
    const inverse = relation.inverseRelation;
    if (!relation.isOwning || !inverse || relation.joinColumns.length === 0) continue;
    if (relation.joinColumns.every((column) => row[fieldName(column)] !== undefined)) continue;
    const parent = siblings.find(
      (s) => s.metadata === relation.inverseEntityMetadata && s.entity && holds(inverse.getEntityValue(s.entity), entity),
    )?.entity;
    if (!parent) continue;
    for (const column of relation.joinColumns) {
      const value: unknown = column.referencedColumn?.getEntityValue(parent);
      if (value !== undefined && row[fieldName(column)] === undefined) row[fieldName(column)] = value;
    }
  }
  return row;
}

function holds(value: unknown, entity: ObjectLiteral): boolean {
  return Array.isArray(value) ? value.includes(entity) : value === entity;
}
