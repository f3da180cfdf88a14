import type { Row } from "@koper/core";
import type { EntityMetadata } from "typeorm";
import { planOf, setPath, type ColumnPlan } from "./rows.ts";

/**
 * What a write really put in the row. TypeORM leaves columns out of its statements (`insert: false`
 * ones out of INSERT, `update: false` ones out of UPDATE) but not out of the entity, and after a
 * write it sets each nullable property the entity lacked to null, a `select: false` column never
 * loaded included: the entity is then not the row, and these functions keep only what the row holds.
 */
interface Unwritten {
  /** `insert: false` columns TypeORM reads back after an INSERT (a TypeORM default, generated): the entity has the row's value. */
  readBack: Set<ColumnPlan>;
  /** Every `insert: false` column. */
  insert: ColumnPlan[];
  /** Every `update: false` column. */
  update: ColumnPlan[];
  /** `insert: false` columns TypeORM does not read back, and that a SELECT would return: the row's value is the database's alone. */
  unread: ColumnPlan["column"][];
}

const cache = new WeakMap<EntityMetadata, Unwritten>();

function unwrittenOf(metadata: EntityMetadata): Unwritten {
  let found = cache.get(metadata);
  if (!found) {
    const returning = new Set(metadata.getInsertionReturningColumns());
    const insert = planOf(metadata).filter((plan) => !plan.column.isInsert);
    const readBack = new Set(insert.filter((plan) => returning.has(plan.column)));
    const update = planOf(metadata).filter((plan) => !plan.column.isUpdate);
    const unread = insert.filter((plan) => !readBack.has(plan) && plan.column.isSelect && !plan.column.isVirtual).map((plan) => plan.column);
    cache.set(metadata, (found = { readBack, insert, update, unread }));
  }
  return found;
}

/** The row an INSERT wrote: without the entity's values of `insert: false` columns TypeORM did not read back. */
export function insertedRow(metadata: EntityMetadata, row: Row): Row {
  const { insert, readBack } = unwrittenOf(metadata);
  for (const plan of insert) if (!readBack.has(plan)) deleteAt(row, pathOf(plan));
  return row;
}

/** The `insert: false` columns whose value after an INSERT only a SELECT can tell (a database default TypeORM does not know). */
export function unreadAfterInsert(metadata: EntityMetadata): readonly ColumnPlan["column"][] {
  return unwrittenOf(metadata).unread;
}

/** What a refused write attempted: without the values its statement could not carry (`insert: false`, `update: false`). */
export function attemptedRow(metadata: EntityMetadata, row: Row, action: "insert" | "update"): Row {
  for (const plan of unwrittenOf(metadata)[action]) deleteAt(row, pathOf(plan));
  return row;
}

/**
 * The row after a row update: `before` (what TypeORM read) with the entity's values of the fields
 * the UPDATE set (`changes`) and of those TypeORM reads back from it (update date, version,
 * generated). Any other field keeps its `before` value, which the database kept: an `update: false`
 * column the entity changed, a nullable one TypeORM set to null in the entity after the write. A
 * `select: false` column TypeORM did not read and the UPDATE did not set is unknown: left out.
 *
 * `fromStatement` false: `changes` are TypeORM's `updatedColumns`, not the UPDATE's SET (its
 * statement was not matched to the row, e.g. a key with a transformer), and they leave out the join
 * columns a relation change wrote. Then only the `update: false` columns are put back: the entity
 * holds every other value the UPDATE wrote.
 */
export function updatedRow(metadata: EntityMetadata, before: Row, after: Row, changes: readonly string[], fromStatement = true): Row {
  const out = copyNested({ ...before, ...after });
  for (const plan of planOf(metadata)) {
    const { column } = plan;
    if (column.isUpdateDate || column.isVersion || column.asExpression !== undefined) continue;
    if (column.isUpdate && (!fromStatement || changes.includes(plan.field))) continue;
    const path = pathOf(plan);
    const was = valueAt(before, path);
    if (was !== undefined) setPath(out, path, was);
    else if (!column.isSelect) deleteAt(out, path);
  }
  return out;
}

function pathOf(plan: ColumnPlan): readonly string[] {
  return plan.path ?? [plan.field];
}

function valueAt(row: Row, path: readonly string[]): unknown {
  let value: unknown = row;
  for (const part of path) value = typeof value === "object" && value !== null ? (value as Row)[part] : undefined;
  return value;
}

function deleteAt(row: Row, path: readonly string[]): void {
  const parent = valueAt(row, path.slice(0, -1));
  if (typeof parent === "object" && parent !== null) delete (parent as Row)[path[path.length - 1]!];
}

/** A copy of a row whose embedded objects are copied too (only those: values stay as they are). */
export function copyNested(row: Row): Row {
  const out: Row = { ...row };
  for (const [field, value] of Object.entries(out)) if (isEmbedded(value)) out[field] = copyNested(value as Row);
  return out;
}

/** An embedded object's value in a row: a plain object (a Date, a Buffer or a JSON array is a value). */
export function isEmbedded(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
