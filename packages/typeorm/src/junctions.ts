import type { Row } from "@koper/core";
import type { EntityMetadata, ObjectLiteral, RelationMetadata } from "typeorm";

/** The many-to-many relation a junction table belongs to, and the entity name its rows' events carry. */
export interface Junction {
  /** The owning relation (the side with `@JoinTable`), e.g. `Article.tags`. */
  relation: RelationMetadata;
  /** The entity that declares the relation: its capture settings apply to the junction's rows. */
  owner: EntityMetadata;
  /** Owner entity + relation property, capitalized: `ArticleTags` (handlers `onInsertArticleTags`, `onDeleteArticleTags`). */
  name: string;
}

const junctions = new WeakMap<EntityMetadata, Junction | null>();

/** The junction a metadata describes, or undefined for an ordinary entity. */
export function junctionOf(metadata: EntityMetadata): Junction | undefined {
  if (metadata.tableType !== "junction") return undefined;
  let junction = junctions.get(metadata);
  if (junction === undefined) {
    const relation = metadata.ownerColumns[0]?.relationMetadata ?? metadata.inverseColumns[0]?.relationMetadata;
    const owner = relation && ownerOf(relation);
    junction = relation && owner ? { relation, owner, name: owner.name + capitalize(relation.propertyName) } : null;
    junctions.set(metadata, junction);
  }
  return junction ?? undefined;
}

// With single-table inheritance TypeORM keeps a child's relations on the parent's metadata
// (`Content`); the child that declares it (`Post.labels`) is the relation's target.
function ownerOf(relation: RelationMetadata): EntityMetadata {
  const declared = relation.entityMetadata.childEntityMetadatas.find((child) => child.target === relation.target);
  return declared ?? relation.entityMetadata;
}

/**
 * The entity whose capture settings (`entities`, `exclude`) decide for a write of `metadata`: the
 * entity itself, a junction's owner, or none for a closure table (`@Tree("closure-table")`), which
 * TypeORM keeps from the tree's parent relation, partly by raw SQL: its writes publish nothing,
 * and the entity's own events carry its parent's key.
 */
export function capturedEntity(metadata: EntityMetadata): EntityMetadata | undefined {
  if (metadata.tableType === "closure-junction") return undefined;
  return junctionOf(metadata)?.owner ?? metadata;
}

/**
 * True for TypeORM's own update of a materialized-path tree's path column (`mpath`, no property of
 * the entity), which it makes after each insert and move of a node: it publishes nothing.
 */
export function isTreePathUpdate(metadata: EntityMetadata, values: ObjectLiteral | undefined): boolean {
  const path = metadata.materializedPathColumn;
  if (!path || !values) return false;
  const set = Object.keys(values).filter((key) => values[key] !== undefined);
  return set.length > 0 && set.every((key) => key === path.propertyPath);
}

/**
 * A junction row by its column names (`{ articlesId, tagsId }`, or the names `@JoinTable` set):
 * TypeORM hands it as the identifier of the junction "subject", keyed the same way.
 */
export function junctionRow(metadata: EntityMetadata, ...sources: (ObjectLiteral | undefined)[]): Row | null {
  const row: Row = {};
  for (const column of metadata.columns) {
    const value: unknown = sources.map((source) => source?.[column.propertyName] as unknown).find((v) => v !== undefined);
    if (value === undefined || value === null) return null;
    row[column.databaseName] = typeof value === "object" && column.referencedColumn ? column.referencedColumn.getEntityValue(value as ObjectLiteral) : value;
  }
  return Object.keys(row).length > 0 ? row : null;
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
