import { AsyncLocalStorage } from "node:async_hooks";
import { methodOwner, type ChangeDraft, type Row, type TxHandle } from "@koper/core";
import { ReferenceKind, type AnyEntity, type Collection, type EntityMetadata, type IDatabaseDriver } from "@mikro-orm/core";
import { driverInfo } from "./failures.ts";
import type { KoperMikroOrmSubscriber } from "./KoperMikroOrmSubscriber.ts";
import { entityRow, keyOf, referenceKey, snapshotRow } from "./rows.ts";

type Meta = EntityMetadata<AnyEntity>;
type AnyFn = (...args: unknown[]) => Promise<unknown>;
type Options = { ctx?: TxHandle } | undefined;

/** What the driver returned during one native call (`em.insertMany` returns only the first key). */
export interface NativeCallStore {
  results: unknown[];
  /** Set once a statement of the call reached the connection (see `markStatements`): before that, nothing was sent. */
  sent?: boolean;
}

/**
 * Set while an `em.insert`/`nativeUpdate`/… call runs: its failure is reported by that call's own
 * wrapper (which knows what the application asked for), not again by the driver's.
 */
export const nativeCall = new AsyncLocalStorage<NativeCallStore>();

// How many native calls are running anywhere: while none is, a flush statement skips the store lookup.
let nativeCalls = 0;

/** Runs a native call with its store (see `nativeCall`). */
export async function inNativeCall<T>(store: NativeCallStore, run: () => Promise<T>): Promise<T> {
  nativeCalls++;
  try {
    return await nativeCall.run(store, run);
  } finally {
    nativeCalls--;
  }
}

/**
 * Marks, on the connection's class (shared by every ORM of it, and its replicas), each statement
 * that reaches the connection while a native call or QueryBuilder write runs: a write that fails
 * with none sent was refused by MikroORM before any SQL. Outside one, a statement costs one compare.
 */
export function markStatements(connection: object): void {
  const proto = methodOwner(connection, "execute");
  const key = Symbol.for("koper.mikro-orm.patched.connection.execute");
  if (!proto || proto[key]) return;
  const original = proto.execute as AnyFn;
  proto[key] = true;
  proto.execute = function (this: unknown, ...args: unknown[]) {
    if (nativeCalls > 0) {
      const store = nativeCall.getStore();
      if (store) store.sent = true;
    }
    return original.apply(this, args);
  };
}

/**
 * Wraps the driver methods every write of the unit of work goes through. The flush's hooks say
 * what succeeded; only here is a failed statement seen, with the rows it carried. Many-to-many
 * changes are written by `syncCollections`, which no hook announces: its event is made here too.
 * Returns the function that restores the driver.
 */
export function wrapDriver(driver: IDatabaseDriver, subscriber: KoperMikroOrmSubscriber): () => void {
  const target = driver as unknown as Record<string, AnyFn>;
  const restore: (() => void)[] = [];
  // `onSuccess` runs after every successful call; `skip(args)` says a call writes nothing (the original runs unwrapped).
  const wrap = (name: string, onError: (args: unknown[], error: unknown) => Promise<void>, onSuccess?: (args: unknown[]) => Promise<void> | void, skip?: (args: unknown[]) => boolean) => {
    const original = target[name]!;
    const own = Object.getOwnPropertyDescriptor(target, name);
    // Not async: a flush statement costs one reaction of ours (the failure handler), no extra promise chain.
    // The handlers are anonymous on purpose: a closure bound to a name is wrapped in esbuild's
    // `__name()` (an Object.defineProperty per call) when the source runs through tsx, as the benches do.
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (skip?.(args)) return original.apply(this, args);
      const store = nativeCalls > 0 ? nativeCall.getStore() : undefined;
      return original.apply(this, args).then(
        store || onSuccess
          ? async (result: unknown) => {
              store?.results.push(result);
              if (onSuccess && subscriber.active) await onSuccess(args);
              return result;
            }
          : undefined,
        (error: unknown) =>
          onError(args, error)
            .catch(subscriber.settings.onError)
            .then(() => Promise.reject(error)),
      );
    };
    restore.push(() => (own ? Object.defineProperty(target, name, own) : delete target[name]));
  };
  const metaOf = (entityName: unknown) => driver.getMetadata().find(entityName as never) as Meta | undefined;
  const failed = (action: "insert" | "update" | "delete", at: number, rows: (args: unknown[]) => unknown[], where?: (args: unknown[]) => unknown) =>
    async (args: unknown[], error: unknown) => {
      const options = args[at] as Options;
      const meta = metaOf(args[0]);
      const info = driverInfo(error, meta?.tableName);
      subscriber.poisonIfAborted(options?.ctx, info);
      if (nativeCall.getStore() || !subscriber.captures(meta)) return;
      const drafts = action === "delete" ? deleteDrafts(subscriber, meta, where!(args), options?.ctx) : rows(args).map((row) => flushDraft(subscriber, meta, action, row, options?.ctx));
      await subscriber.fail(options?.ctx, drafts, error, info);
    };
  // The options (with `ctx`, the transaction) are the third argument, or the fourth after a where.
  wrap("nativeInsert", failed("insert", 2, (args) => [args[1]]));
  wrap("nativeInsertMany", failed("insert", 2, (args) => args[1] as unknown[]));
  wrap("nativeUpdate", failed("update", 3, (args) => [args[2]]));
  wrap("nativeUpdateMany", failed("update", 3, (args) => args[2] as unknown[]));
  wrap("nativeDelete", failed("delete", 2, () => [], (args) => args[1]));
  readBeforeSync(target, subscriber, driver, restore);
  wrap("syncCollections", async (args, error) => {
    const info = driverInfo(error, undefined);
    subscriber.poisonIfAborted((args[1] as Options)?.ctx, info);
  }, (args) => collectionsChanged(subscriber, args[0] as Iterable<Collection<AnyEntity>>, (args[1] as Options)?.ctx), (args) => (args[0] as { size?: number }).size === 0);
  return () => restore.reverse().forEach((undo) => undo());
}

// The failed row of a flush: the entity its change set belongs to says what was attempted.
function flushDraft(subscriber: KoperMikroOrmSubscriber, meta: Meta, action: "insert" | "update", payload: unknown, tx: TxHandle | undefined): ChangeDraft {
  const { drafts } = subscriber.settings;
  const changeSet = subscriber.flushedChangeSet(payload, tx);
  if (!changeSet) return drafts.failed(meta, action, keyOf(meta, payload as Row), snapshotRow(meta, payload as Row) ?? null);
  if (action === "insert") return drafts.failed(changeSet.meta, action, keyOf(changeSet.meta, changeSet.entity), entityRow(changeSet.meta, changeSet.entity));
  // What the update event would have said: the row attempted, the row before, the changed properties.
  return drafts.updated(changeSet.meta, changeSet.entity, changeSet.payload, changeSet.originalEntity);
}

// The unit of work deletes by primary key: `{ id: 5 }` or `{ id: { $in: [5, 6] } }`. The entity
// each key belongs to (its change set) gives the row as it was, references included.
function deleteDrafts(subscriber: KoperMikroOrmSubscriber, meta: Meta, where: unknown, tx: TxHandle | undefined): ChangeDraft[] {
  const [pk] = meta.primaryKeys;
  const condition = typeof where === "object" && where !== null && pk ? (where as Row)[pk] : where;
  const inList = typeof condition === "object" && condition !== null && "$in" in condition ? (condition as { $in: unknown[] }).$in : [condition];
  return inList.map((value) => {
    const changeSet = pk ? subscriber.deletedChangeSet(meta, value, tx) : undefined;
    const before = changeSet ? subscriber.settings.drafts.removedRow(changeSet.meta, changeSet.entity) : undefined;
    return subscriber.settings.drafts.failed(meta, "delete", pk ? { [pk]: value } : null, null, before);
  });
}

// The pivot keys of collections MikroORM never loaded, read just before their additions are written
// (in the flush's transaction): additions are written as inserts that ignore a row already there,
// so only the keys before tell what was really added.
const storedBefore = new WeakMap<Collection<AnyEntity>, unknown[]>();

// Wraps syncCollections (under the failure/success wrapper) to read those keys first.
function readBeforeSync(target: Record<string, AnyFn>, subscriber: KoperMikroOrmSubscriber, driver: IDatabaseDriver, restore: (() => void)[]): void {
  const original = target.syncCollections!;
  const own = Object.getOwnPropertyDescriptor(target, "syncCollections");
  target.syncCollections = function (this: unknown, ...args: unknown[]) {
    const collections = args[0] as Iterable<Collection<AnyEntity>> & { size?: number };
    const tx = (args[1] as Options)?.ctx;
    const unloaded = subscriber.active && collections.size !== 0 ? [...collections].filter((c) => isUnloadedOwned(subscriber, c)) : [];
    if (unloaded.length === 0) return original.apply(this, args);
    const reads = unloaded.map((collection) =>
      pivotKeys(driver, collection, tx).then(
        (keys) => void (keys && storedBefore.set(collection, keys)),
        (error: unknown) => void subscriber.settings.onError(error),
      ),
    );
    return Promise.all(reads).then(() => original.apply(this, args));
  };
  restore.push(() => (own ? Object.defineProperty(target, "syncCollections", own) : delete target.syncCollections));
}

function isUnloadedOwned(subscriber: KoperMikroOrmSubscriber, collection: Collection<AnyEntity>): boolean {
  const property = collection.property;
  return property.kind === ReferenceKind.MANY_TO_MANY && property.owner && !collection.isInitialized() && subscriber.captures((collection.owner as { __meta?: Meta }).__meta);
}

// A many-to-many collection of an owning entity was written: one update event of the owner.
async function collectionsChanged(subscriber: KoperMikroOrmSubscriber, collections: Iterable<Collection<AnyEntity>>, tx: TxHandle | undefined): Promise<void> {
  for (const collection of collections) {
    const property = collection.property;
    if (property.kind !== ReferenceKind.MANY_TO_MANY || !property.owner) continue;
    const owner = collection.owner;
    const meta = (owner as { __meta?: Meta }).__meta;
    if (!subscriber.captures(meta)) continue;
    const items = collection.getItems(false).map(referenceKey);
    let after = items;
    let before = (collection.getSnapshot() ?? []).map(referenceKey);
    // Added to a collection MikroORM never loaded (it allows additions only): its items are the
    // added ones, the pivot keys read just before the write the collection before.
    if (!collection.isInitialized()) {
      const stored = storedBefore.get(collection);
      storedBefore.delete(collection);
      if (!stored) continue;
      before = stored;
      after = [...stored, ...items.filter((item) => !stored.some((key) => sameKeys([item], [key])))];
    }
    if (sameKeys(after, before)) continue;
    await subscriber.record(tx, subscriber.settings.drafts.collectionChanged(meta, owner, property.name, after, before));
  }
}

// The keys of the items the pivot table holds for a collection's owner (single-column keys only).
async function pivotKeys(driver: IDatabaseDriver, collection: Collection<AnyEntity>, tx: TxHandle | undefined): Promise<unknown[] | undefined> {
  const property = collection.property;
  const [targetKey, ...more] = property.targetMeta?.primaryKeys ?? [];
  const ownerKey = referenceKey(collection.owner);
  if (!targetKey || more.length > 0 || typeof ownerKey === "object") return undefined;
  const found = await driver.loadFromPivotTable(property, [[ownerKey as never]], undefined, undefined, tx as never);
  return Object.values(found).flat().map((item) => (item as Row)[targetKey]);
}

function sameKeys(a: unknown[], b: unknown[]): boolean {
  const key = (v: unknown) => JSON.stringify(v);
  const set = new Set(b.map(key));
  return a.length === b.length && a.every((v) => set.has(key(v)));
}
