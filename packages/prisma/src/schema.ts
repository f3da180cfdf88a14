/** A relation field of a model, as the schema declares it. */
export interface RelationField {
  /** The related model. */
  model: string;
  /** A list relation (`Line[]`): the related rows point at this one, or a many-to-many. */
  list: boolean;
  /** Both sides are lists and no model holds the foreign key: an implicit many-to-many. */
  manyToMany: boolean;
  /** This model holds the foreign key (`@relation(fields: …)`): re-linking changes only this row. */
  holdsKey: boolean;
  /** The foreign-key fields this model holds (`fields: [...]`), empty when it holds none. */
  fields: string[];
  /** The related model's fields they reference (`references: [...]`), in the same order. */
  references: string[];
  /** The relation's name (`@relation("name", …)` or `name:`), when given. */
  name: string | undefined;
}

/** What the adapter needs to know about one model. */
export interface ModelInfo {
  name: string;
  /** The table (`@@map`), or the model name. */
  table: string;
  /** `@@schema` (PostgreSQL multi-schema), when given. */
  schema: string | undefined;
  /** Primary-key fields (`@id`, `@@id([...])`). Empty when the model has none. */
  key: string[];
  scalars: Set<string>;
  /**
   * `Json` fields holding one value (not `Json[]`): in `data`, `{ set: "x" }` or `{ increment: 1 }`
   * is the JSON value to store, never an operator. A `Json[]` list takes `set`/`push` like any list.
   */
  json: Set<string>;
  /** `Decimal` fields (and `Decimal[]`): Prisma gives them as Decimal objects, whose JSON may be `"1e-8"`. */
  decimals: Set<string>;
  /** `@updatedAt` fields: Prisma sets them on every update, so they change without being in `data`. */
  updatedAt: string[];
  relations: Map<string, RelationField>;
}

const MODEL = /^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm;
const FIELD = /^(\w+)\s+(\w+)(\[\]|\?)?(.*)$/;

/**
 * Reads the models from the schema text the `prisma-client` generator inlines in every client.
 * Prisma's runtime data model lacks primary keys and list-ness, which events need; the schema
 * text has both, in a grammar stable since Prisma 2.
 */
export function parseSchema(text: string): Map<string, ModelInfo> {
  const models = new Map<string, ModelInfo>();
  const ignored = new Set<string>();
  const bodies: [ModelInfo, string][] = [];
  for (const [, name, body] of text.matchAll(MODEL)) {
    // `@@ignore`: Prisma Client has no such model (no delegate, nothing to capture, no key to ask for).
    if (IGNORED_MODEL.test(body!)) {
      ignored.add(name!);
      continue;
    }
    const info: ModelInfo = { name: name!, table: name!, schema: undefined, key: [], scalars: new Set(), json: new Set(), decimals: new Set(), updatedAt: [], relations: new Map() };
    models.set(info.name, info);
    bodies.push([info, body!]);
  }
  for (const [info, body] of bodies) readBody(info, body, models, ignored);
  markManyToMany(models);
  return models;
}

const IGNORED_MODEL = /^\s*@@ignore\b/m;

function readBody(info: ModelInfo, body: string, models: Map<string, ModelInfo>, ignored: Set<string>): void {
  for (const raw of body.split("\n")) {
    const line = withoutComment(raw).trim();
    if (line === "") continue;
    if (line.startsWith("@@")) {
      readModelAttribute(info, line);
      continue;
    }
    const match = FIELD.exec(line);
    if (!match) continue;
    const [, field, type, modifier, attributes] = match;
    // Prisma Client has no such field: asking for it in a `select` would fail the application's call.
    if (/^Unsupported\b/.test(type!) || /(^|\s)@ignore\b/.test(attributes!) || ignored.has(type!)) continue;
    if (models.has(type!)) {
      const holdsKey = /@relation\([^)]*fields\s*:/.test(attributes!);
      const fields = listIn(attributes!, "fields");
      const references = listIn(attributes!, "references");
      const name = /@relation\(\s*(?:name\s*:\s*)?"([^"]+)"/.exec(attributes!)?.[1];
      info.relations.set(field!, { model: type!, list: modifier === "[]", manyToMany: !holdsKey, holdsKey, fields, references, name });
      continue;
    }
    info.scalars.add(field!);
    if (type === "Json" && modifier !== "[]") info.json.add(field!);
    if (type === "Decimal") info.decimals.add(field!);
    if (/(^|\s)@id\b/.test(attributes!)) info.key.push(field!);
    if (/(^|\s)@updatedAt\b/.test(attributes!)) info.updatedAt.push(field!);
  }
}

// A `//` (or `///`) comment ends the line, but not inside a string: `@default("https://…")` is no comment.
function withoutComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}

// The field names of `fields: [a, b]` (or `references: [...]`) in a `@relation(...)`.
function listIn(attributes: string, argument: string): string[] {
  const list = new RegExp(`@relation\\([^)]*\\b${argument}\\s*:\\s*\\[([^\\]]*)\\]`).exec(attributes);
  return list ? list[1]!.split(",").map((f) => f.trim()).filter(Boolean) : [];
}

/**
 * The relation of `related` that holds the foreign key of `relation` (a field of `model`), the
 * other side of a one-to-many or of a to-one whose key the related row holds. Undefined when it
 * cannot be told (two such relations between the models and no name to match).
 */
export function backRelationOf(model: ModelInfo, relation: RelationField, related: ModelInfo): RelationField | undefined {
  if (relation.holdsKey || relation.manyToMany) return undefined;
  const candidates = [...related.relations.values()].filter((r) => r.model === model.name && r.holdsKey && r.name === relation.name);
  return candidates.length === 1 ? candidates[0] : undefined;
}

/**
 * The field of `related` on the other side of `relation` (`field` of `model`) and its relation:
 * `orders` for an order's `customer`, `order` for its `lines`. Undefined when it cannot be told.
 */
export function pairedFieldOf(model: ModelInfo, field: string, relation: RelationField, related: ModelInfo): [string, RelationField] | undefined {
  let found: [string, RelationField] | undefined;
  for (const [name, back] of related.relations) {
    if ((related === model && name === field) || back.model !== model.name || back.name !== relation.name) continue;
    // One side of a one-to-one or one-to-many holds the key; neither side of a many-to-many does.
    if (relation.manyToMany ? !back.manyToMany : back.holdsKey === relation.holdsKey) continue;
    if (found) return undefined;
    found = [name, back];
  }
  return found;
}

function readModelAttribute(info: ModelInfo, line: string): void {
  const id = /^@@id\(\s*(?:fields\s*:\s*)?\[([^\]]*)\]/.exec(line);
  if (id) info.key = id[1]!.split(",").map((f) => f.trim().replace(/\(.*$/, "")).filter(Boolean);
  const map = /^@@map\(\s*(?:name\s*:\s*)?"([^"]+)"/.exec(line);
  if (map) info.table = map[1]!;
  const schema = /^@@schema\(\s*"([^"]+)"/.exec(line);
  if (schema) info.schema = schema[1]!;
}

/**
 * A list relation is an implicit many-to-many when the related model has another list field (not
 * this one: a self-relation's `children` finds itself), holding no key, of the same relation name.
 * Otherwise its other side holds the foreign key: a one-to-many.
 */
function markManyToMany(models: Map<string, ModelInfo>): void {
  for (const info of models.values()) {
    for (const [field, relation] of info.relations) {
      const other = relation.list && !relation.holdsKey ? models.get(relation.model) : undefined;
      relation.manyToMany = other !== undefined && otherSideOf(info, field, relation, other) !== undefined;
    }
  }
}

/** The field of `related` that is the other side of the many-to-many `relation` (`field` of `model`). */
export function otherSideOf(model: ModelInfo, field: string, relation: RelationField, related: ModelInfo): string | undefined {
  for (const [name, back] of related.relations) {
    if (related === model && name === field) continue;
    if (back.model === model.name && back.list && !back.holdsKey && back.name === relation.name) return name;
  }
  return undefined;
}
