import type { Row } from "@koper/core";
import type { EntityMetadata, QueryRunner } from "typeorm";
import { fieldName, missingJoinColumns } from "./rows.ts";

/**
 * Reads the join columns `row` lacks (see `missingJoinColumns`) with one SELECT by primary key, on
 * the write's own QueryRunner so it sees the transaction's uncommitted state. Soft-deleted rows
 * included. Resolves to the values found (none when the row is gone or nothing is missing).
 */
export async function lookupJoinColumns(runner: QueryRunner, metadata: EntityMetadata, row: Row, key: Row | null): Promise<Row> {
  const columns = missingJoinColumns(metadata, row);
  if (columns.length === 0 || !key) return {};
  const qb = runner.manager.createQueryBuilder(metadata.target, "koper_fk").withDeleted().select([]);
  for (const column of columns) qb.addSelect(`${qb.escape("koper_fk")}.${qb.escape(column.databaseName)}`, column.databaseName);
  const raw = (await qb.whereInIds([key]).getRawOne()) as Record<string, unknown> | undefined;
  const found: Row = {};
  if (!raw) return found;
  for (const column of columns) {
    const value = raw[column.databaseName];
    if (value !== undefined) found[fieldName(column)] = value;
  }
  return found;
}
