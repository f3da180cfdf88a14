import type { Action, ChangeDraft, Row } from "@koper/core";
import { keyOf, scalarsOf, singleRow, whereOf, type DraftFactory } from "./drafts.ts";
import { isRecord } from "./nested-args.ts";
import type { ModelInfo } from "./schema.ts";

/** What is known of a refused call beyond its arguments. */
export interface Attempt {
  /** Whether bulk writes are captured (`bulk` option): a refused `createMany`, `updateMany`, `deleteMany` publishes nothing without. */
  bulk: boolean;
  /** A failed upsert's branch, when known (its row existed: update; it did not: insert). */
  existed?: boolean | undefined;
}

const BY_CRITERIA: Record<string, Action> = { updateMany: "update", updateManyAndReturn: "update", deleteMany: "delete" };

/**
 * The failure events of a top-level write Prisma or the database refused: what it attempted, as
 * its own events would have carried it. A `createMany`/`createManyAndReturn` fails as a whole (one
 * multi-row INSERT, or Prisma's validation of the call): each row it carried has its failure
 * event, with the row's values and its key where the row names it, as on every adapter. A write by
 * criteria (`updateMany`, `deleteMany`) names no row: one bulk failure with its criteria and `set`.
 */
export function failureDrafts(drafts: DraftFactory, model: ModelInfo, operation: string, args: Row, attempt: Attempt): ChangeDraft[] {
  if (operation === "createMany" || operation === "createManyAndReturn") {
    if (operation === "createMany" && !attempt.bulk) return [];
    return attemptedRows(args.data).map((row) => drafts.failed(model, "insert", keyOf(model, scalarsOf(model, row)), row));
  }
  const byCriteria = BY_CRITERIA[operation];
  if (byCriteria) {
    if (!attempt.bulk && !operation.endsWith("AndReturn")) return [];
    return [drafts.bulk(model, byCriteria, whereOf(args), byCriteria === "delete" ? undefined : singleRow(args.data), null)];
  }
  return [rowFailure(drafts, model, operation, args, attempt.existed)];
}

// create, update, upsert, delete: one row, keyed by `where` (or by `data` where it names the key).
function rowFailure(drafts: DraftFactory, model: ModelInfo, operation: string, args: Row, existed: boolean | undefined): ChangeDraft {
  const insert = operation === "create" || (operation === "upsert" && existed === false);
  const action: Action = insert ? "insert" : operation === "delete" ? "delete" : "update";
  const attempted = (operation !== "upsert" ? args.data : existed ? args.update : args.create) as Row | undefined;
  // An upsert's insert branch keys the row by what it creates, not by the `where` it did not find.
  const where = operation === "upsert" && existed === false ? undefined : (args.where as Row | undefined);
  const key = keyOf(model, where) ?? keyOf(model, attempted && scalarsOf(model, attempted));
  return drafts.failed(model, action, key, attempted);
}

// A `createMany`'s `data`: a list of rows, or one row.
function attemptedRows(data: unknown): Row[] {
  return (Array.isArray(data) ? data : [data]).filter(isRecord);
}
