import type { ChangeDraft, Row } from "@koper/core";
import type { EntityMetadata, QueryRunner } from "typeorm";
import { rowOfColumns } from "./drafts.ts";
import { fieldName, missingJoinColumns, type ColumnMetadata } from "./rows.ts";
import { copyNested, isEmbedded, unreadAfterInsert } from "./written.ts";

/**
 * Reads the join columns `row` lacks (see `missingJoinColumns`) with one SELECT by primary key, on
 * the write's own QueryRunner so it sees the transaction's uncommitted state. Soft-deleted rows
 * included. Resolves to the values found (none when the row is gone or nothing is missing).
 */
export async function lookupJoinColumns(runner: QueryRunner, metadata: EntityMetadata, row: Row, key: Row | null): Promise<Row> {
  const columns = missingJoinColumns(metadata, row);
  const raw = await readColumns(runner, metadata, columns, key);
  const found: Row = {};
  if (!raw) return found;
  for (const column of columns) {
    const value = raw[column.databaseName];
    if (value !== undefined) found[fieldName(column)] = value;
  }
  return found;
}

/**
 * An inserted row's `insert: false` columns that TypeORM did not read back (no TypeORM default:
 * the database's default, or a trigger, gave the value), read with one SELECT by primary key on
 * the write's own QueryRunner and merged into `data`, as the entity would hold them.
 */
export function withUnreadColumns(runner: QueryRunner, metadata: EntityMetadata, draft: ChangeDraft): ChangeDraft | Promise<ChangeDraft> {
  const columns = unreadAfterInsert(metadata);
  if (columns.length === 0 || draft.bulk || !draft.data) return draft;
  return readColumns(runner, metadata, columns, draft.key).then((raw) => {
    if (raw) draft.data = merged(copyNested(draft.data!), rowOfColumns(metadata, raw));
    return draft;
  });
}

// `into` with the values of `from`, embedded objects merged field by field.
function merged(into: Row, from: Row): Row {
  for (const [field, value] of Object.entries(from)) {
    const current = into[field];
    into[field] = isEmbedded(value) && isEmbedded(current) ? merged(current as Row, value as Row) : value;
  }
  return into;
}

// The raw values of `columns` in the row with `key`, by database name; undefined when it is gone.
async function readColumns(runner: QueryRunner, metadata: EntityMetadata, columns: readonly ColumnMetadata[], key: Row | null): Promise<Record<string, unknown> | undefined> {
  if (columns.length === 0 || !key) return undefined;
  const qb = runner.manager.createQueryBuilder(metadata.target, "koper_fk").withDeleted().select([]);
  for (const column of columns) qb.addSelect(`${qb.escape("koper_fk")}.${qb.escape(column.databaseName)}`, column.databaseName);
  return (await qb.whereInIds([key]).getRawOne()) as Record<string, unknown> | undefined;
}
