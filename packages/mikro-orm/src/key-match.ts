import type { Row } from "@koper/core";
import { Utils, type AnyEntity, type EntityMetadata, type EntityProperty, type Platform } from "@mikro-orm/core";
import { keyOf } from "./rows.ts";

type Meta = EntityMetadata<AnyEntity>;
type Prop = EntityProperty<AnyEntity>;

/** Reads rows by a where object (the driver's find, in the flush's transaction). */
export type Read = (where: Record<string, unknown>) => Promise<Row[]>;

/** An entity about to be deleted, its primary key (one column) as the application gave it, and the key's `keyHash`. */
export interface Removed {
  entity: AnyEntity;
  key: unknown;
  hash: string;
}

/** The removed entities with a key, one per key (MikroORM deletes a key once). */
export function distinctKeys(meta: Meta, platform: Platform, entities: AnyEntity[]): Removed[] {
  const [pk] = meta.primaryKeys as string[];
  const byHash = new Map<string, Removed>();
  for (const entity of entities) {
    const key = keyOf(meta, entity)?.[pk!];
    if (key === undefined) continue;
    const hash = keyHash(meta.properties[pk!], platform, key);
    if (!byHash.has(hash)) byHash.set(hash, { entity, key, hash });
  }
  return [...byHash.values()];
}

/**
 * A key as MikroORM compares primary keys: in its database form (the property's type converts it,
 * as for a query), hashed by `Utils.getPrimaryKeyHash` (a date as its instant, a Buffer as hex).
 * Not `getSerializedPrimaryKey()`: for a date or binary key without a custom type that is
 * `'' + key`, which is one text for two dates a millisecond apart.
 */
export function keyHash(prop: Prop | undefined, platform: Platform, value: unknown): string {
  let form = value;
  if (prop?.customType && value !== null && value !== undefined) {
    try {
      form = prop.customType.convertToDatabaseValue(value, platform);
    } catch {
      form = value;
    }
  }
  if (form instanceof Uint8Array && !Buffer.isBuffer(form)) form = Buffer.from(form.buffer, form.byteOffset, form.byteLength);
  return Utils.getPrimaryKeyHash([form as never]);
}

/**
 * Pairs the rows read for `removed` (by `$in` of their keys) with their entities: by `keyHash`,
 * which a row read back in the form it was written in matches. A row the database hands back in
 * another form (PostgreSQL's uuid type in lowercase, MariaDB's case-insensitive collation finding
 * "abc" for "ABC", a date truncated to the column's precision) is the database's to pair: see
 * `pairByDatabase`.
 */
export async function matchRows(meta: Meta, platform: Platform, removed: Removed[], rows: Row[], read: Read): Promise<Map<AnyEntity, Row>> {
  const [pk] = meta.primaryKeys as string[];
  const prop = meta.properties[pk!];
  const byHash = new Map(removed.map((r) => [r.hash, r]));
  const found = new Map<AnyEntity, Row>();
  const unmatched: Row[] = [];
  for (const row of rows) {
    const hit = byHash.get(keyHash(prop, platform, row[pk!]));
    if (hit && !found.has(hit.entity)) found.set(hit.entity, row);
    else unmatched.push(row);
  }
  if (unmatched.length > 0) await pairByDatabase(meta, platform, removed.filter((r) => !found.has(r.entity)), unmatched, read, found);
  return found;
}

/**
 * Each row left is the row of one of the keys left: the database found it for one of the keys, and
 * not for a matched one (whose own row it found; the key is unique). One of each: they pair. Else a
 * uuid column's rows by their text without case, as the database's uuid type compares them; and
 * whatever is still left by one more read per key, until every row is paired (a key left then has
 * no row, or names a row another key did).
 */
async function pairByDatabase(meta: Meta, platform: Platform, removed: Removed[], rows: Row[], read: Read, found: Map<AnyEntity, Row>): Promise<void> {
  const [pk] = meta.primaryKeys as string[];
  const prop = meta.properties[pk!];
  if (rows.length === 1 && removed.length === 1) return void found.set(removed[0]!.entity, rows[0]!);
  const unpaired = new Set(rows.map((row) => keyHash(prop, platform, row[pk!])));
  const pair = (entity: AnyEntity, row: Row) => {
    found.set(entity, row);
    unpaired.delete(keyHash(prop, platform, row[pk!]));
  };
  if (isUuidColumn(prop)) {
    const byText = new Map(removed.map((r) => [String(r.key).toLowerCase(), r.entity]));
    for (const row of rows) {
      const entity = byText.get(String(row[pk!]).toLowerCase());
      if (entity && !found.has(entity)) pair(entity, row);
    }
  }
  for (const { entity, key } of removed) {
    if (unpaired.size === 0) return;
    if (found.has(entity)) continue;
    const [row] = await read({ [pk!]: key });
    if (row) pair(entity, row);
  }
}

// A column of the database's uuid type (PostgreSQL's, MariaDB's): it compares uuids whatever their case.
function isUuidColumn(prop: Prop | undefined): boolean {
  return prop?.columnTypes?.length === 1 && prop.columnTypes[0]!.toLowerCase() === "uuid";
}
