import type { Row } from "@koper/core";
import { isRecord } from "./nested-args.ts";
import type { Probed } from "./nested-probes.ts";
import type { ModelInfo } from "./schema.ts";

// Nested operations on a relation whose foreign key this row holds that always re-point it. (A
// to-one `delete` leaves the key to the database's ON DELETE; an `upsert` re-points it only when
// it creates: see `relinks`.)
const RELINKS = new Set(["connect", "disconnect", "create", "connectOrCreate"]);

/**
 * The fields an update's `data` changes: its scalars and relations, the foreign keys a re-linked
 * relation writes (`customer: { connect }` changes `customerId`), and the `@updatedAt` fields when
 * the row itself is written (a `data` of nested writes on other tables only leaves it untouched).
 * `probed`: what Koper read before the call, which tells a to-one `upsert`'s branch.
 */
export function changedFields(model: ModelInfo, data: unknown, probed?: Probed): string[] {
  const names: string[] = [];
  let writesRow = false;
  if (typeof data === "object" && data !== null) {
    for (const field of Object.keys(data)) {
      const value = (data as Row)[field];
      if (value === undefined) continue;
      if (model.scalars.has(field)) {
        names.push(field);
        writesRow = true;
        continue;
      }
      const relation = model.relations.get(field);
      if (!relation) continue;
      names.push(field);
      if (!relation.holdsKey || !isRecord(value) || !relinks(value, probed)) continue;
      writesRow = true;
      for (const key of relation.fields) if (!names.includes(key)) names.push(key);
    }
  }
  if (writesRow) for (const field of model.updatedAt) if (!names.includes(field)) names.push(field);
  return names;
}

/**
 * Whether a relation's nested operations re-point the foreign key the row holds. A to-one
 * `upsert` does when it creates (the parent then holds the new row's key), not when it updates the
 * related row in place; when its branch was not read (a batch `$transaction([...])`), it may have:
 * counted, so `changes` never misses a field the write changed.
 */
function relinks(operations: Record<string, unknown>, probed: Probed | undefined): boolean {
  for (const op of Object.keys(operations)) {
    if (RELINKS.has(op)) return true;
    if (op !== "upsert" || !isRecord(operations.upsert)) continue;
    const found = probed?.get(operations.upsert);
    if (found === undefined || found === null) return true;
  }
  return false;
}
