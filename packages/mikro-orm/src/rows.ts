import type { Row } from "@koper/core";
import { ReferenceKind, helper, type AnyEntity, type EntityMetadata, type EntityProperty } from "@mikro-orm/core";

type Meta = EntityMetadata<AnyEntity>;
type Prop = EntityProperty<AnyEntity>;

/**
 * The properties an event carries: columns, embeddables and owning references, by property name.
 * Flattened embeddable columns (`addr_city`) are reached through their embeddable; collections
 * and computed properties are not columns of the row.
 */
function rowProps(meta: Meta): Prop[] {
  return meta.props.filter((prop) => {
    if (prop.embedded || prop.persist === false || prop.formula) return false;
    if (prop.kind === ReferenceKind.ONE_TO_MANY || prop.kind === ReferenceKind.MANY_TO_MANY) return false;
    return !(prop.kind === ReferenceKind.ONE_TO_ONE && !prop.owner);
  });
}

const PROPS = new WeakMap<Meta, Prop[]>();

function propsOf(meta: Meta): Prop[] {
  let props = PROPS.get(meta);
  if (!props) PROPS.set(meta, (props = rowProps(meta)));
  return props;
}

/** An entity's row as the application sees it: embeddables as objects, references as their keys. */
export function entityRow(meta: Meta, entity: AnyEntity): Row {
  const row: Row = {};
  for (const prop of propsOf(meta)) {
    const value = (entity as Record<string, unknown>)[prop.name];
    if (value === undefined) continue;
    row[prop.name] = plainValue(prop, value);
  }
  return row;
}

/**
 * A flushed new entity's row: a nullable property the entity never set is null, as in the row it
 * became (a database default or a generated value MikroORM reads back; a lazy one it does not).
 */
export function insertedRow(meta: Meta, entity: AnyEntity): Row {
  const row = entityRow(meta, entity);
  for (const prop of nullFilledOf(meta)) if (!(prop.name in row)) row[prop.name] = null;
  return row;
}

// Per entity, once: the nullable properties an insert that leaves them unset stores as NULL (no
// default, not generated, not lazy): most entities have none, and an insert then loops over nothing.
const NULL_FILLED = new WeakMap<Meta, Prop[]>();

function nullFilledOf(meta: Meta): Prop[] {
  let props = NULL_FILLED.get(meta);
  if (!props) {
    props = propsOf(meta).filter(
      (prop) => prop.nullable && !prop.lazy && !prop.primary && prop.default === undefined && prop.defaultRaw === undefined && prop.generated === undefined,
    );
    NULL_FILLED.set(meta, props);
  }
  return props;
}

function plainValue(prop: Prop, value: unknown): unknown {
  if (value === null) return null;
  if (prop.kind === ReferenceKind.EMBEDDED) {
    if (Array.isArray(value)) return value.map((item) => embeddable(prop, item));
    return embeddable(prop, value);
  }
  if (prop.kind === ReferenceKind.MANY_TO_ONE || prop.kind === ReferenceKind.ONE_TO_ONE) return referenceKey(value);
  return value;
}

function embeddable(prop: Prop, value: unknown): Row | null {
  if (value === null || typeof value !== "object") return value as null;
  const out: Row = {};
  for (const [name, child] of Object.entries(prop.embeddedProps ?? {})) {
    const inner = (value as Record<string, unknown>)[name];
    if (inner !== undefined) out[name] = plainValue(child, inner);
  }
  return out;
}

/** The primary key of a referenced entity (or the key itself when the reference is one). */
export function referenceKey(value: unknown): unknown {
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const target = (value as { unwrap?: () => unknown }).unwrap?.() ?? value; // a Reference wrapper
  const wrapped = (target as { __helper?: unknown }).__helper ? helper(target as AnyEntity) : undefined;
  return wrapped ? wrapped.getPrimaryKey() : target;
}

/** The primary key of an entity by property name; null when it has none yet. */
export function keyOf(meta: Meta, entity: AnyEntity | Record<string, unknown> | undefined): Row | null {
  if (!entity) return null;
  const key: Row = {};
  for (const name of meta.primaryKeys) {
    const value = (entity as Record<string, unknown>)[name];
    if (value === undefined || value === null) return null;
    key[name] = referenceKey(value);
  }
  return key;
}

/**
 * A row from MikroORM's snapshot form (`originalEntity`, change set payloads): embeddable columns
 * flattened (`addr_city`), JSON as text. Returned by property name, like `entityRow`.
 */
export function snapshotRow(meta: Meta, data: Record<string, unknown> | undefined): Row | undefined {
  if (!data) return undefined;
  const row: Row = {};
  for (const prop of propsOf(meta)) {
    const value = snapshotValue(prop, data);
    if (value !== undefined) row[prop.name] = value;
  }
  return row;
}

function snapshotValue(prop: Prop, data: Record<string, unknown>): unknown {
  if (prop.kind === ReferenceKind.EMBEDDED && !prop.object) {
    const out: Row = {};
    let any = false;
    for (const [name, child] of Object.entries(prop.embeddedProps ?? {})) {
      const value = snapshotValue(child, data);
      if (value !== undefined) [out[name], any] = [value, true];
    }
    if (!any) return undefined;
    // MikroORM hydrates a nullable embeddable whose columns are all null as null: so does `before`.
    return prop.nullable && Object.values(out).every((v) => v === null) ? null : out;
  }
  return columnValue(prop, data[prop.name]);
}

/**
 * A property's value as MikroORM holds it for the database (snapshots, a QueryBuilder's data) back
 * to the entity's form: JSON parsed, and a Date that SQLite's platform keeps as its timestamp.
 */
export function columnValue(prop: Prop, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if ((typeof value === "number" || typeof value === "bigint") && prop.runtimeType === "Date") return new Date(Number(value));
  if (typeof value === "string" && isJson(prop)) return parseJson(value);
  // A custom type's snapshot is its database form (convertToDatabaseValue): back the way hydration goes.
  const type = prop.customType as { convertToJSValue?: (value: unknown, platform: unknown) => unknown; platform?: unknown; constructor?: { name?: string } } | undefined;
  if (type?.convertToJSValue && type.platform && !isJson(prop)) {
    try {
      return type.convertToJSValue(value, type.platform);
    } catch {
      return value;
    }
  }
  return value;
}

const JSON_PROPS = new WeakMap<Prop, boolean>();

// MikroORM's snapshots hold JSON properties (and embeddables stored as objects) as text.
function isJson(prop: Prop): boolean {
  let answer = JSON_PROPS.get(prop);
  if (answer === undefined) {
    const custom = (prop.customType as { constructor?: { name?: string } } | undefined)?.constructor?.name;
    answer = Boolean(prop.object) || custom === "JsonType" || /json/i.test(String(prop.type)) || (prop.columnTypes ?? []).some((t) => /json/i.test(t));
    JSON_PROPS.set(prop, answer);
  }
  return answer;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The changed properties of an update, from its payload: an embeddable's column as `addr.city`.
 * A field whose value equals the snapshot's is not a change: where the database has no RETURNING
 * (MySQL/MariaDB), MikroORM reloads a version or generated column after the UPDATE and merges the
 * row it read, primary key included, into the payload; on SQLite it rewrites a loaded entity's dates.
 */
export function changedFields(meta: Meta, payload: Record<string, unknown>, original: Record<string, unknown> | undefined): string[] {
  const fields: string[] = [];
  for (const field of Object.keys(payload)) {
    if (original && unchanged(payload[field], original[field])) continue;
    const prop = meta.properties[field];
    fields.push(prop?.embedded ? embeddedPath(meta, prop) : field);
  }
  return fields;
}

// Plain scalars and dates compare (a snapshot holds JSON as text). On SQLite a loaded entity's
// snapshot holds a Date and the payload its timestamp, so MikroORM rewrites every date column of it:
// the same instant is not a change.
function unchanged(after: unknown, before: unknown): boolean {
  if (after instanceof Date || before instanceof Date) {
    const time = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === "number" ? v : NaN);
    return time(after) === time(before);
  }
  const scalar = typeof after === "string" || typeof after === "number" || typeof after === "bigint" || typeof after === "boolean";
  return scalar && after === before;
}

function embeddedPath(meta: Meta, prop: Prop): string {
  const [parent, child] = prop.embedded!;
  const parentProp = meta.properties[parent];
  const head = parentProp?.embedded ? embeddedPath(meta, parentProp) : String(parent);
  return `${head}.${String(child)}`;
}
