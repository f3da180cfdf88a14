import type { Action, ChangeDraft, CriteriaDraft, Row } from "@koper/core";
import type { EntityMetadata, ObjectLiteral } from "typeorm";
import { junctionRow, type Junction } from "./junctions.ts";
import { fieldName, fieldOfColumn, fillParentKeys, keyOf, setPath, setValues, toRow } from "./rows.ts";
import { currentWhere } from "./criteria.ts";
import { criteriaOf, insertedRows, setColumns, type WriteStatement } from "./statements.ts";
import { attemptedRow, copyNested, insertedRow, updatedRow } from "./written.ts";

/** Where events say they came from, fixed per DataSource. */
export interface SourceInfo {
  database?: string;
}

/** Another entity written by the same `save`: where a cascaded child finds its parent's key. */
export interface Sibling {
  metadata: EntityMetadata;
  entity?: ObjectLiteral | undefined;
}

/** Builds the change drafts of one DataSource's writes. */
export class DraftFactory {
  readonly #source: SourceInfo;
  readonly #sources = new WeakMap<EntityMetadata, ChangeDraft["source"]>();

  constructor(source: SourceInfo) {
    this.#source = source;
  }

  /** `save` of a new entity (cascades included): the row with its generated key. */
  inserted(metadata: EntityMetadata, entity: ObjectLiteral | undefined, entityId: unknown, siblings: readonly Sibling[]): ChangeDraft {
    const data = fillParentKeys(metadata, entity, insertedRow(metadata, toRow(metadata, entity)), siblings);
    return this.#draft(metadata, "insert", keyOf(metadata, entity) ?? idMap(entityId), { data });
  }

  /** `save` of a loaded entity: TypeORM gives the row it read before, and the entity; `data` is what the UPDATE made of them. */
  updated(
    metadata: EntityMetadata,
    entity: ObjectLiteral | undefined,
    databaseEntity: ObjectLiteral,
    changes: string[],
    fromStatement = true,
  ): ChangeDraft {
    const before = toRow(metadata, databaseEntity);
    return this.#draft(metadata, "update", keyOf(metadata, entity, databaseEntity), {
      data: updatedRow(metadata, before, toRow(metadata, entity), changes, fromStatement),
      before,
      changes,
    });
  }

  /** `remove`: the entity's id is already cleared, so the key comes from what TypeORM read. */
  removed(metadata: EntityMetadata, entity: ObjectLiteral | undefined, databaseEntity: ObjectLiteral | undefined, entityId: unknown, joinColumns?: Row): ChangeDraft {
    const key = keyOf(metadata, databaseEntity, entity) ?? idMap(entityId);
    return this.#draft(metadata, "delete", key, { data: null, before: { ...joinColumns, ...toRow(metadata, databaseEntity ?? entity) } });
  }

  /** A junction row of a many-to-many relation, added or removed: both keys, under the owner's `<Entity><Relation>` name. */
  junction(metadata: EntityMetadata, junction: Junction, action: "insert" | "delete", entityId: unknown, values: ObjectLiteral | undefined): ChangeDraft | undefined {
    const row = junctionRow(metadata, entityId as ObjectLiteral | undefined, values);
    if (!row) return undefined;
    const draft = this.#draft(metadata, action, row, action === "insert" ? { data: row } : { data: null, before: row });
    draft.entity = junction.name;
    return draft;
  }

  /** `softRemove`/`recover`: an update of the delete-date column, or a delete if so configured. */
  softChanged(
    metadata: EntityMetadata,
    action: Action,
    entity: ObjectLiteral | undefined,
    databaseEntity: ObjectLiteral | undefined,
    entityId: unknown,
    changes: string[],
  ): ChangeDraft {
    const key = keyOf(metadata, databaseEntity, entity) ?? idMap(entityId);
    const before = toRow(metadata, databaseEntity ?? entity);
    if (action === "delete") return this.#draft(metadata, "delete", key, { data: null, before });
    // The UPDATE set only the delete-date (and date/version) columns: the entity's other values may
    // be stale (changed in the database since it was loaded), and were not written.
    const data = databaseEntity ? withFields(before, toRow(metadata, entity), changes) : toRow(metadata, entity);
    return this.#draft(metadata, "update", key, { data, before, changes });
  }

  /**
   * A write by criteria: no row is known, only the criteria, the SET values and the count. An
   * update's `changes` are the columns its statement set (auto-set date and version columns
   * included, embedded ones by path), else `changes`, else the SET values' fields.
   */
  bulk(
    metadata: EntityMetadata,
    action: Action,
    statement: WriteStatement | undefined,
    set?: ObjectLiteral,
    changes?: string[],
    criteria: CriteriaDraft | null = criteriaFor(metadata, statement),
  ): ChangeDraft {
    const bulkSet = setValues(metadata, set);
    const draft = this.#draft(metadata, action, null, { data: null });
    draft.bulk = { criteria, affected: statement?.affected ?? null };
    if (bulkSet) draft.bulk.set = bulkSet;
    const columns = statement?.action === "update" ? setColumns(statement.sql).map((column) => fieldOfColumn(metadata, column) ?? column) : [];
    const changed = columns.length > 0 ? columns : (changes ?? (bulkSet ? Object.keys(bulkSet) : undefined));
    if (action === "update" && changed) draft.changes = changed;
    return draft;
  }

  /**
   * A QueryBuilder/`insert()` row: TypeORM filled in what RETURNING gave. An upsert may have
   * updated an existing row instead, and a row whose key is unknown cannot be named: both bulk.
   */
  insertedByBuilder(metadata: EntityMetadata, values: ObjectLiteral | undefined, statement: WriteStatement | undefined): ChangeDraft | undefined {
    const key = keyOf(metadata, values);
    const data = insertedRow(metadata, toRow(metadata, values));
    const skipped = statement?.ignore ? skippedRows(statement) : 0;
    if (skipped === "all") return undefined; // orIgnore() wrote none of its rows
    if (key && !statement?.upsert && skipped === 0) return this.#draft(metadata, "insert", key, { data });
    const draft = this.#draft(metadata, "insert", key, { data: null });
    const criteria = statement?.upsert
      ? conflictCriteria(metadata, statement.sql, data)
      : statement?.ignore && key ? { kind: "where" as const, where: key } : criteriaFor(metadata, statement);
    draft.bulk = { criteria, set: data, affected: statement?.affected ?? null };
    return draft;
  }

  /** The failure of a write: the attempted values, and the row before where TypeORM read it. */
  failed(
    metadata: EntityMetadata,
    action: Action,
    entity: ObjectLiteral | undefined,
    databaseEntity: ObjectLiteral | undefined,
    sent?: Record<string, unknown>,
  ): ChangeDraft {
    const before = databaseEntity ? toRow(metadata, databaseEntity) : undefined;
    // What the failed INSERT itself carried fills what the entity lacks (a key TypeORM generated).
    const fromStatement = sent ? rowOfColumns(metadata, sent) : {};
    const attempted = { ...fromStatement, ...toRow(metadata, entity) };
    const data = action === "delete" ? null : { ...before, ...attemptedRow(metadata, attempted, action) };
    const key = keyOf(metadata, entity, databaseEntity) ?? keyOf(metadata, fromStatement);
    const draft = this.#draft(metadata, action, key, { data });
    if (before) draft.before = before;
    return draft;
  }

  /** A failed criteria write: what it tried to set and on which criteria. */
  failedBulk(metadata: EntityMetadata, action: Action, statement: WriteStatement, set: ObjectLiteral | undefined, where: CriteriaDraft | undefined): ChangeDraft {
    const failed = { ...statement, affected: null };
    return this.bulk(metadata, action, failed, action === "delete" ? undefined : set, undefined, where ?? criteriaFor(metadata, failed));
  }

  #draft(metadata: EntityMetadata, action: Action, key: Row | null, rest: Partial<ChangeDraft>): ChangeDraft {
    const draft = rest as ChangeDraft;
    draft.entity = metadata.name;
    draft.action = action;
    draft.key = key;
    draft.source = this.#sourceOf(metadata); // shared: the capture copies it into each event
    return draft;
  }

  #sourceOf(metadata: EntityMetadata): ChangeDraft["source"] {
    let source = this.#sources.get(metadata);
    if (!source) {
      source = { orm: "typeorm", table: metadata.tableName };
      if (this.#source.database) source.database = this.#source.database;
      if (metadata.schema) source.schema = metadata.schema;
      this.#sources.set(metadata, Object.freeze(source));
    }
    return source;
  }
}

/** The delete-date column's field name, as the changed field of a soft remove or recover. */
export function deleteDateField(metadata: EntityMetadata): string[] {
  return metadata.deleteDateColumn ? [fieldName(metadata.deleteDateColumn)] : [];
}

// `row` with the values of `fields` (paths: "home.city") taken from `from`, where it has them.
function withFields(row: Row, from: Row, fields: readonly string[]): Row {
  const out = copyNested(row);
  for (const field of fields) {
    const path = field.split(".");
    let value: unknown = from;
    for (const part of path) value = typeof value === "object" && value !== null ? (value as Row)[part] : undefined;
    if (value !== undefined) setPath(out, path, value);
  }
  return out;
}

/**
 * Values by database column → the entity's shape (only columns it maps): embedded ones nested,
 * each value as the entity would hold it (the driver's hydration: dates, simple-json, transformers).
 */
export function rowOfColumns(metadata: EntityMetadata, values: Record<string, unknown>): Row {
  const row: Row = {};
  const driver = (metadata as { connection?: { driver?: Hydrator } }).connection?.driver;
  for (const [name, value] of Object.entries(values)) {
    const column = metadata.columns.find((c) => c.databaseName === name);
    if (!column || value === undefined) continue;
    const field = fieldName(column);
    setPath(row, column.embeddedMetadata ? column.propertyPath.split(".") : [field], hydrated(driver, column, value));
  }
  return row;
}

interface Hydrator {
  prepareHydratedValue(value: unknown, column: EntityMetadata["columns"][number]): unknown;
}

function hydrated(driver: Hydrator | undefined, column: EntityMetadata["columns"][number], value: unknown): unknown {
  if (!driver || value === null) return value;
  try {
    return driver.prepareHydratedValue(value, column);
  } catch {
    return value; // a value the driver cannot read back stays as it was sent
  }
}

/** TypeORM's `entityId` (an id map) as a key, or null. */
export function idMap(entityId: unknown): Row | null {
  return typeof entityId === "object" && entityId !== null && Object.keys(entityId).length > 0 ? { ...(entityId as Row) } : null;
}

/**
 * What selected a criteria write's rows: the caller's criteria object when the write came through
 * an EntityManager/Repository criteria method, else the statement's WHERE clause.
 */
export function criteriaFor(metadata: EntityMetadata, statement: WriteStatement | undefined): CriteriaDraft | null {
  return currentWhere(metadata) ?? criteriaOf(statement, (column) => fieldOfColumn(metadata, column));
}

/**
 * How many rows of an `orIgnore()` INSERT the database skipped, from its count: 0 (each row is an
 * insert), "all" (nothing was written), or "some" (unknown which: each row may have been inserted).
 */
function skippedRows(statement: WriteStatement): 0 | "all" | "some" {
  if (statement.affected === 0) return "all";
  if (statement.affected === null) return "some";
  // Asked once per row of the statement: its rows are counted once.
  if (lastCount?.sql !== statement.sql) lastCount = { sql: statement.sql, rows: insertedRows(statement).length };
  return lastCount.rows > 0 && statement.affected >= lastCount.rows ? 0 : "some";
}
let lastCount: { sql: string; rows: number } | undefined;

// An upsert's row is the one holding the same conflict-target values. MySQL/MariaDB's
// ON DUPLICATE KEY names no target: then it is unknown (null).
function conflictCriteria(metadata: EntityMetadata, sql: string, data: Row): CriteriaDraft | null {
  const target = /\bON\s+CONFLICT\s*\(([^)]*)\)/i.exec(sql)?.[1];
  if (!target) return null;
  const where: Row = {};
  for (const quoted of target.split(",")) {
    const field = fieldOfColumn(metadata, quoted.trim().replace(/^["`[]|["`\]]$/g, ""));
    if (!field) return null;
    where[field] = data[field];
  }
  return { kind: "where", where };
}

