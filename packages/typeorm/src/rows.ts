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

/** A snapshot of the entity's column values (a copy: the entity may change before commit). */
export function toRow(metadata: EntityMetadata, entity: ObjectLiteral | undefined): Row {
  const row: Row = {};
  if (!entity) return row;
  for (const column of metadata.columns) {
    if (column.isVirtual) continue;
    const value: unknown = column.getEntityValue(entity);
    if (value === undefined) continue;
    if (column.embeddedMetadata) setPath(row, column.propertyPath.split("."), value);
    else row[fieldName(column)] = value;
  }
  return row;
}

// Embedded columns ("address.city") keep the entity's shape: { address: { city } }.
function setPath(row: Row, path: string[], value: unknown): void {
  let target = row;
  for (const part of path.slice(0, -1)) {
    const next = target[part];
    target = (typeof next === "object" && next !== null ? next : (target[part] = {})) as Row;
  }
  target[path[path.length - 1]!] = value;
}

/** The primary key of the entity by property name, or null when a part of it is unknown. */
export function keyOf(metadata: EntityMetadata, ...candidates: (ObjectLiteral | undefined)[]): Row | null {
  const key: Row = {};
  for (const column of metadata.primaryColumns) {
    let value: unknown;
    for (const entity of candidates) {
      value = entity ? column.getEntityValue(entity) : undefined;
      if (value !== undefined && value !== null) break;
    }
    if (value === undefined || value === null) return null;
    key[fieldName(column)] = value;
  }
  return Object.keys(key).length > 0 ? key : null;
}

/** Property names of the columns TypeORM found changed, plus changed relations. */
export function changedFields(columns: readonly ColumnMetadata[], relations: readonly { propertyPath: string }[]): string[] {
  const names = new Set<string>();
  for (const column of columns) names.add(fieldName(column));
  for (const relation of relations) names.add(relation.propertyPath);
  return [...names];
}

/**
 * The SET values of a criteria update, by property name. TypeORM hands them as the object the
 * caller passed, which may hold raw SQL functions (`() => "qty + 1"`): those are described, not run.
 */
export function setValues(metadata: EntityMetadata, values: ObjectLiteral | undefined): Row | undefined {
  if (!values) return undefined;
  const row: Row = {};
  for (const [property, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const column = metadata.findColumnWithPropertyPath(property);
    const name = column ? fieldName(column) : property;
    row[name] = typeof value === "function" ? { sql: String((value as () => unknown)()) } : value;
  }
  return row;
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
