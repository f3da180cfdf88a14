import type { Action, ChangeDraft, CriteriaDraft, Row } from "@koper/core";
import type { AnyEntity, EntityMetadata } from "@mikro-orm/core";
import { changedFields, entityRow, insertedRow, keyOf, referenceKey, snapshotRow } from "./rows.ts";

type Meta = EntityMetadata<AnyEntity>;

/** What a bulk event selected rows by: MikroORM's where object, or the SQL of a QueryBuilder write (core's shape). */
export type Criteria = CriteriaDraft | null;

/** Builds the change drafts of one ORM's writes. */
export class DraftFactory {
  readonly #database: string | undefined;
  readonly #sources = new WeakMap<Meta, ChangeDraft["source"]>();
  readonly #readBefore = new WeakMap<AnyEntity, Row>();

  constructor(database: string | undefined) {
    this.#database = database;
  }

  /** A flushed new entity: the row with its generated key. */
  inserted(meta: Meta, entity: AnyEntity, extra?: Row): ChangeDraft {
    const row = insertedRow(meta, entity);
    return this.#draft(meta, "insert", keyOf(meta, entity), { data: extra ? { ...row, ...extra } : row });
  }

  /** A flushed change: the row after, the row before (MikroORM's snapshot) and the changed properties. */
  updated(meta: Meta, entity: AnyEntity, payload: Record<string, unknown>, original: Record<string, unknown> | undefined): ChangeDraft {
    // A reference MikroORM never loaded has a snapshot of its key alone: the row before is unknown.
    const loaded = original !== undefined && Object.keys(original).some((field) => !meta.primaryKeys.includes(field));
    const before = loaded ? snapshotRow(meta, original) : undefined;
    const draft = this.#draft(meta, "update", keyOf(meta, entity), { data: entityRow(meta, entity), changes: changedFields(meta, payload, original) });
    if (before) draft.before = before;
    return draft;
  }

  /** The row of an entity about to be removed that MikroORM never loaded, read before the flush: its `before`. */
  readBefore(entity: AnyEntity, row: Row): void {
    this.#readBefore.set(entity, row);
  }

  /** A removed entity's row: what was read for it before the flush, else what the entity holds. */
  removedRow(meta: Meta, entity: AnyEntity): Row {
    return this.#readBefore.get(entity) ?? entityRow(meta, entity);
  }

  /** A flushed removal: the row as it was. */
  deleted(meta: Meta, entity: AnyEntity): ChangeDraft {
    return this.#draft(meta, "delete", keyOf(meta, entity), { data: null, before: this.removedRow(meta, entity) });
  }

  /** A many-to-many change of an owning entity: the collection's keys after and before. */
  collectionChanged(meta: Meta, owner: AnyEntity, property: string, after: unknown[], before: unknown[]): ChangeDraft {
    const row = entityRow(meta, owner);
    return this.#draft(meta, "update", keyOf(meta, owner), {
      data: { ...row, [property]: after },
      before: { ...row, [property]: before },
      changes: [property],
    });
  }

  /** An `em.insert`/`insertMany` row whose key the database returned. */
  insertedRow(meta: Meta, key: Row, values: Row): ChangeDraft {
    return this.#draft(meta, "insert", key, { data: { ...values, ...key } });
  }

  /** An upsert the database said updated an existing row (MySQL/MariaDB): the values set; the row before is unknown. */
  upsertUpdated(meta: Meta, key: Row, values: Row): ChangeDraft {
    const changes = Object.keys(values).filter((field) => !(field in key));
    return this.#draft(meta, "update", key, { data: { ...values, ...key }, changes });
  }

  /** A write by criteria, or an upsert (which may have inserted or updated): no row event can be named. */
  bulk(meta: Meta, action: Action, criteria: Criteria, set: Row | undefined, affected: number | null, key: Row | null = null): ChangeDraft {
    const draft = this.#draft(meta, action, key, { data: null });
    draft.bulk = set ? { criteria, affected, set } : { criteria, affected };
    if (action === "update" && set) draft.changes = Object.keys(set);
    return draft;
  }

  /** The failure of a write: the attempted values, and the row before where MikroORM knows it. */
  failed(meta: Meta, action: Action, key: Row | null, attempted: Row | null, before?: Row): ChangeDraft {
    const draft = this.#draft(meta, action, key, { data: action === "delete" ? null : attempted });
    if (before) draft.before = before;
    return draft;
  }

  #draft(meta: Meta, action: Action, key: Row | null, rest: Partial<ChangeDraft>): ChangeDraft {
    const draft = rest as ChangeDraft;
    draft.entity = meta.className;
    draft.action = action;
    draft.key = key;
    draft.source = this.#sourceOf(meta);
    return draft;
  }

  // One source per entity (core copies it into each event): the same fields, built once.
  #sourceOf(meta: Meta): ChangeDraft["source"] {
    let source = this.#sources.get(meta);
    if (source?.table !== meta.tableName) {
      source = { orm: "mikro-orm", table: meta.tableName };
      if (this.#database) source.database = this.#database;
      if (meta.schema && meta.schema !== "*") source.schema = meta.schema;
      this.#sources.set(meta, source);
    }
    return source;
  }
}

/** A where object as plain data (a native write's, a QueryBuilder's kept where): entities and references by their keys; operators kept. */
export function plainWhere(meta: Meta | undefined, where: unknown): Record<string, unknown> {
  if (where === null || typeof where !== "object" || Array.isArray(where)) {
    const [pk] = meta?.primaryKeys ?? [];
    return pk ? { [pk]: plainValue(where) } : { value: plainValue(where) };
  }
  return plainValue(where) as Record<string, unknown>;
}

/** A value of a where as plain data (see `plainWhere`). */
export function plainValue(value: unknown): unknown {
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(plainValue);
  if ((value as { __helper?: unknown }).__helper || typeof (value as { unwrap?: unknown }).unwrap === "function") return referenceKey(value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
}
