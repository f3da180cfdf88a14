import { methodOwner, type Action, type ChangeDraft, type Row, type TxHandle } from "@koper/core";
import { EntitySchema, type AnyEntity, type EntityManager, type EntityMetadata } from "@mikro-orm/core";
import { plainValue, plainWhere, type Criteria } from "./drafts.ts";
import { inOwnTransaction, needsOwnTransaction, withTransaction } from "./autocommit.ts";
import { inNativeCall, type NativeCallStore } from "./driver-writes.ts";
import { driverInfo, isOptimisticLockError, isValidationError, refusal } from "./failures.ts";
import { KOPER_SUBSCRIBER, type KoperMikroOrmSubscriber } from "./KoperMikroOrmSubscriber.ts";
import { loadRemoved, unloadedRemovals } from "./removed-rows.ts";
import { changedFields, entityRow, keyOf, snapshotRow } from "./rows.ts";
import { tagQueryBuilder } from "./query-builder.ts";

type Meta = EntityMetadata<AnyEntity>;
type Em = EntityManager & Record<string, unknown>;
type AnyFn = (this: Em, ...args: unknown[]) => Promise<unknown>;

/** What one native call asked for, and how to make its events from the result. */
interface NativeWrite {
  meta: Meta | undefined;
  tx: TxHandle | undefined;
  /** Which argument of the call holds its options (where the transaction goes as `ctx`). */
  optionsAt: number;
  /** `driverResults`: what the driver methods returned during the call. */
  done(result: unknown, driverResults: unknown[]): ChangeDraft[];
  failed(): ChangeDraft[];
}

/**
 * The EntityManager methods that write without the unit of work, and so fire no MikroORM hook.
 * They are wrapped on the prototype (every fork shares it), and route to the Koper subscriber
 * registered on the em's event manager: without one, a wrapped method is the original plus one lookup.
 */
export function patchEntityManager(em: EntityManager): void {
  patch(em, "insert", (sub, em, args) => insertWrite(sub, em, args, false));
  patch(em, "insertMany", (sub, em, args) => insertWrite(sub, em, args, true));
  patch(em, "nativeUpdate", (sub, em, [name, where, data, options]) => criteriaWrite(sub, em, name, "update", where, data, options));
  patch(em, "nativeDelete", (sub, em, [name, where, options]) => criteriaWrite(sub, em, name, "delete", where, undefined, options));
  patch(em, "upsert", (sub, em, args) => upsertWrite(sub, em, args, false));
  patch(em, "upsertMany", (sub, em, args) => upsertWrite(sub, em, args, true));
  patch(em, "clone", (sub, em, args) => cloneWrite(sub, em, args));
  patchFlush(em);
  patchQueryBuilders(em);
}

/** The active Koper subscriber of the em's event manager, if any (bound to the em's ORM on first sight). */
export function subscriberOf(em: EntityManager): KoperMikroOrmSubscriber | undefined {
  for (const subscriber of em.getEventManager().getSubscribers()) {
    const sub = subscriber as Partial<KoperMikroOrmSubscriber>;
    if (sub[KOPER_SUBSCRIBER] && sub.active && (sub as KoperMikroOrmSubscriber).bindTo(em)) return sub as KoperMikroOrmSubscriber;
  }
  return undefined;
}

function patch(em: EntityManager, name: string, describe: (sub: KoperMikroOrmSubscriber, em: Em, args: unknown[]) => NativeWrite | undefined): void {
  const proto = methodOwner(em, name);
  const key = Symbol.for(`koper.mikro-orm.patched.${name}`);
  if (!proto || proto[key]) return;
  const original = proto[name] as AnyFn;
  proto[key] = true;
  proto[name] = async function (this: Em, ...args: unknown[]) {
    const sub = subscriberOf(this);
    const write = sub && describe(sub, this, args);
    if (!sub || !write || !sub.captures(write.meta)) return original.apply(this, args);
    if (!needsOwnTransaction(sub, write.tx)) return captured(sub, write, () => original.apply(this, args), false);
    // With an outbox or audit, an autocommit write and its rows commit together (see autocommit.ts).
    return inOwnTransaction(sub, this, (trx) => captured(sub, { ...write, tx: trx }, () => original.apply(this, withTransaction(args, write.optionsAt, trx)), true));
  };
}

// Runs one native write and records its events (or its failure events). `own`: it runs in Koper's own
// transaction (outbox or audit on), which an error of the call rolls back. A call that sent no
// statement and fails with no driver code was refused by MikroORM before SQL (see `refusal`).
async function captured(sub: KoperMikroOrmSubscriber, write: NativeWrite, run: () => Promise<unknown>, own: boolean): Promise<unknown> {
  let result: unknown;
  const store: NativeCallStore = { results: [] };
  try {
    result = await inNativeCall(store, run);
  } catch (error) {
    const info = driverInfo(error, write.meta?.tableName);
    if (!store.sent && info.code === undefined) {
      const refused = refusal(error, write.meta?.tableName);
      await sub.fail(write.tx, safely(sub, write.failed), refused.error, refused.info);
      throw error;
    }
    // Not the database: a statement ran (the driver returned), then MikroORM's own code or a hook it
    // runs threw (a MariaDB upsert whose ON DUPLICATE KEY hit another unique index, which MikroORM
    // cannot reload; an afterUpsert hook). Where the row stands (autocommit, or the application's
    // transaction, which publishes it only if it commits) it is the write's event; in Koper's own
    // transaction the error rolls the row back: a failure event, code orm_error.
    if (store.results.length > 0 && info.code === undefined) {
      if (!own) {
        for (const draft of safely(sub, () => write.done(undefined, store.results))) await sub.record(write.tx, draft);
        throw error;
      }
      info.code_hint = "orm_error";
    }
    await sub.fail(write.tx, safely(sub, write.failed), error, info);
    throw error;
  }
  for (const draft of safely(sub, () => write.done(result, store.results))) await sub.record(write.tx, draft);
  return result;
}

function safely(sub: KoperMikroOrmSubscriber, build: () => ChangeDraft[]): ChangeDraft[] {
  try {
    return build();
  } catch (error) {
    sub.settings.onError(error);
    return [];
  }
}

function context(em: Em, meta: Meta | undefined, options: unknown): { meta: Meta | undefined; tx: TxHandle | undefined } {
  const ctx = (options as { ctx?: TxHandle } | undefined)?.ctx;
  return { meta, tx: ctx ?? (em.getContext(false).getTransactionContext() as TxHandle | undefined) };
}

// The entity a native write names: a class, a name, an entity instance, or an EntitySchema (whose
// constructor is EntitySchema itself, so it is looked up by the class name it declares).
function metaOf(em: Em, entityName: unknown): Meta | undefined {
  if (EntitySchema.is(entityName)) return em.getMetadata().find(entityName.meta.className as never) as Meta | undefined;
  const name = typeof entityName === "object" && entityName !== null && !("prototype" in entityName) ? entityName.constructor : entityName;
  return em.getMetadata().find(name as never) as Meta | undefined;
}

// em.insert(entity) / em.insert(Entity, data): the database returns the key, so each row is a row event.
function insertWrite(sub: KoperMikroOrmSubscriber, em: Em, [target, data, options]: unknown[], many: boolean): NativeWrite {
  const rows = (data === undefined ? target : data) as Row | Row[];
  const list = many ? (rows as Row[]) : [rows as Row];
  const meta = metaOf(em, data === undefined ? list[0] : target);
  const { drafts, bulk } = sub.settings;
  const values = (row: Row) => (meta ? entityRow(meta, row) : row);
  return {
    ...context(em, meta, options),
    optionsAt: 2,
    done: (result, driverResults) => {
      const keys = many ? returnedKeys(meta!, driverResults, result as unknown[]) : [result];
      return list.flatMap((row, i) => {
        const key = keyFrom(meta!, keys.length === list.length ? keys[i] : undefined, row);
        if (key) return [drafts.insertedRow(meta!, key, values(row))];
        return bulk ? [drafts.bulk(meta!, "insert", null, values(row), null)] : [];
      });
    },
    failed: () => list.map((row) => drafts.failed(meta!, "insert", keyOf(meta!, row), values(row))),
  };
}

// The driver's rows carry every generated key (what the unit of work uses, by column name).
function returnedKeys(meta: Meta, driverResults: unknown[], fallback: unknown[]): unknown[] {
  const rows = (driverResults[driverResults.length - 1] as { rows?: Row[] } | undefined)?.rows;
  const pk = meta.getPrimaryProps()[0];
  if (!rows || !pk || meta.primaryKeys.length !== 1) return fallback;
  return rows.map((row) => row[pk.fieldNames[0]!] ?? row[pk.name]);
}

function keyFrom(meta: Meta, returned: unknown, row: Row): Row | null {
  if (meta.primaryKeys.length === 1 && returned !== undefined && returned !== null && typeof returned !== "object") return { [meta.primaryKeys[0]!]: returned };
  if (typeof returned === "object" && returned !== null) return keyOf(meta, returned as Row);
  return keyOf(meta, row);
}

function criteriaWrite(sub: KoperMikroOrmSubscriber, em: Em, name: unknown, action: Action, where: unknown, data: unknown, options: unknown): NativeWrite | undefined {
  const { drafts, bulk } = sub.settings;
  if (!bulk) return undefined;
  const meta = metaOf(em, name);
  const criteria: Criteria = { kind: "where", where: plainWhere(meta, where) };
  const set = data && meta ? entityRow(meta, data as Row) : undefined;
  return {
    ...context(em, meta, options),
    optionsAt: action === "update" ? 3 : 2,
    done: (affected) => [drafts.bulk(meta!, action, criteria, set, typeof affected === "number" ? affected : null)],
    failed: () => [drafts.bulk(meta!, action, criteria, set, null)],
  };
}

// An upsert may have inserted or updated, and MikroORM does not say which: a bulk insert marked upsert.
function upsertWrite(sub: KoperMikroOrmSubscriber, em: Em, [target, data, options]: unknown[], many: boolean): NativeWrite | undefined {
  const { drafts, bulk } = sub.settings;
  if (!bulk) return undefined;
  const entityForm = data === undefined || (many && Array.isArray(target));
  const list = (entityForm ? target : data) as Row | Row[];
  const rows = many ? (list as Row[]) : [list as Row];
  const meta = metaOf(em, entityForm ? rows[0] : target);
  const fields = (options as { onConflictFields?: unknown } | undefined)?.onConflictFields;
  // The conflict target's values name the row; without explicit fields MikroORM picks them: unknown.
  const criteria = (row: Row): Criteria => (Array.isArray(fields) ? { kind: "where", where: Object.fromEntries(fields.map((f) => [String(f), plainValue(row[String(f)])])) } : null);
  return {
    ...context(em, meta, options),
    optionsAt: 2,
    done: (result, driverResults) => {
      // No result when the call threw after its statement ran (see `captured`): the rows as given.
      const entities = (many ? result : [result]) as (Row | undefined)[] | undefined;
      const told = many ? undefined : upsertOutcome(sub, driverResults);
      return rows.map((row, i) => {
        const key = keyOf(meta!, entities?.[i] ?? row);
        const values = entityRow(meta!, row);
        if (told && key) return told === "insert" ? drafts.insertedRow(meta!, key, values) : drafts.upsertUpdated(meta!, key, values);
        return drafts.bulk(meta!, "insert", criteria(row), values, 1, key);
      });
    },
    failed: () => rows.map((row) => drafts.bulk(meta!, "insert", criteria(row), entityRow(meta!, row), null)),
  };
}

// MySQL/MariaDB count an ON DUPLICATE KEY UPDATE row as 1 when inserted, 2 when updated (0: unchanged).
function upsertOutcome(sub: KoperMikroOrmSubscriber, driverResults: unknown[]): "insert" | "update" | undefined {
  if (sub.settings.family !== "mysql" || driverResults.length !== 1) return undefined;
  const affected = (driverResults[0] as { affectedRows?: unknown } | undefined)?.affectedRows;
  return affected === 1 ? "insert" : affected === 2 ? "update" : undefined;
}

// em.clone: INSERT … SELECT in the database, then MikroORM loads the copy: a row insert of it.
function cloneWrite(sub: KoperMikroOrmSubscriber, em: Em, [target, whereOrOverrides, third, fourth]: unknown[]): NativeWrite {
  const fromEntity = typeof target === "object" && target !== null && !("prototype" in target);
  const meta = metaOf(em, target);
  const overrides = (fromEntity ? whereOrOverrides : third) as Row | undefined;
  return {
    ...context(em, meta, fromEntity ? third : fourth),
    optionsAt: fromEntity ? 2 : 3,
    done: (clone) => [sub.settings.drafts.inserted(meta!, clone as AnyEntity)],
    failed: () => [sub.settings.drafts.failed(meta!, "insert", null, overrides ? entityRow(meta!, overrides) : null)],
  };
}

// MikroORM validates before any SQL (a missing required value): a failure event with its own code.
function patchFlush(em: EntityManager): void {
  const proto = methodOwner(em, "flush");
  const key = Symbol.for("koper.mikro-orm.patched.flush");
  if (!proto || proto[key]) return;
  const original = proto.flush as AnyFn;
  const reported = new WeakSet<object>();
  proto[key] = true;
  // Not async: a successful flush costs no promise or reaction of ours beyond the failure handler.
  // No closure bound to a name on the way of every flush: under tsx (the benches) esbuild wraps one
  // in `__name()`, an Object.defineProperty per flush (1 µs of a 120 µs SQLite flush).
  proto.flush = function (this: Em, ...args: unknown[]) {
    const unloaded = unloadedRemovals(this);
    const sub = unloaded && subscriberOf(this);
    if (!sub || !sub.bound || !sub.settings.lookupJoinColumns) return flushReporting(this, original, args, reported);
    return loadRemoved(sub, this, unloaded).then(() => flushReporting(this, original, args, reported));
  };
}

// The original flush, its failure reported before it reaches the application (see flushFailed).
function flushReporting(em: Em, original: AnyFn, args: unknown[], reported: WeakSet<object>): Promise<unknown> {
  return original.apply(em, args).then(undefined, (error: unknown) => flushFailed(em, error, reported));
}

async function flushFailed(em: Em, error: unknown, reported: WeakSet<object>): Promise<never> {
  const lock = isOptimisticLockError(error);
  const sub = (lock || isValidationError(error)) && !reported.has(error as object) ? subscriberOf(em) : undefined;
  if (sub) {
    reported.add(error as object);
    const failed = lock ? lockFailed : validationFailed;
    await failed(sub, em, error as Error & { getEntity(): unknown }).catch(sub.settings.onError);
  }
  throw error;
}

// The versioned UPDATE succeeded as a statement and matched no row: MikroORM throws after it, and
// rolls the flush back. An update failure (`not_found`: the row in the version the entity was
// loaded in is gone), with what the update event would have said: row attempted, before, changes.
async function lockFailed(sub: KoperMikroOrmSubscriber, em: Em, error: Error & { getEntity(): unknown }): Promise<void> {
  const entity = error.getEntity() as AnyEntity | undefined;
  const meta = (entity as { __meta?: Meta } | undefined)?.__meta;
  if (!entity || !sub.captures(meta)) return;
  const original = (entity as { __helper?: { __originalEntityData?: Record<string, unknown> } }).__helper?.__originalEntityData;
  const draft = sub.settings.drafts.failed(meta, "update", keyOf(meta, entity), entityRow(meta, entity), snapshotRow(meta, original));
  if (original) {
    const diff = em.getComparator().diffEntities(meta.class as never, original as never, em.getComparator().prepareEntity(entity) as never);
    draft.changes = changedFields(meta, diff as Record<string, unknown>, original);
  }
  await sub.fail(em.getContext(false).getTransactionContext() as TxHandle | undefined, [draft], error, { code_hint: "not_found" });
}

async function validationFailed(sub: KoperMikroOrmSubscriber, em: Em, error: Error & { getEntity(): unknown }): Promise<void> {
  const entity = error.getEntity() as AnyEntity | undefined;
  const meta = (entity as { __meta?: Meta } | undefined)?.__meta;
  if (!entity || !sub.captures(meta)) return;
  const persisted = Boolean((entity as { __helper?: { __originalEntityData?: unknown } }).__helper?.__originalEntityData);
  const draft = sub.settings.drafts.failed(meta, persisted ? "update" : "insert", keyOf(meta, entity), entityRow(meta, entity));
  const refused = refusal(error, undefined, "flush");
  await sub.fail(em.getContext(false).getTransactionContext() as TxHandle | undefined, [draft], refused.error, refused.info);
}

function patchQueryBuilders(em: EntityManager): void {
  const proto = methodOwner(em, "createQueryBuilder");
  const key = Symbol.for("koper.mikro-orm.patched.createQueryBuilder");
  if (!proto || proto[key]) return;
  const original = proto.createQueryBuilder as (this: Em, ...args: unknown[]) => object;
  proto[key] = true;
  proto.createQueryBuilder = function (this: Em, ...args: unknown[]) {
    const qb = original.apply(this, args);
    tagQueryBuilder(qb, this, () => subscriberOf(this));
    return qb;
  };
}
