import type { Row } from "@koper/core";
import type { EntityMetadata, ObjectLiteral, RelationMetadata } from "typeorm";

/** The many-to-many relation a junction table belongs to, and the entity name its rows' events carry. */
export interface Junction {
  /** The owning relation (the side with `@JoinTable`), e.g. `Article.tags`. */
  relation: RelationMetadata;
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
    junction = relation ? { relation, name: relation.entityMetadata.name + capitalize(relation.propertyName) } : null;
    junctions.set(metadata, junction);
  }
  return junction ?? undefined;
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
