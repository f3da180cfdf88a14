import { databaseFamily, failureAbortsTransaction, runSilenced, unknownEntityNames, type Koper } from "@koper/core";
import { EntityManager, type AnyEntity, type EntityMetadata, type MikroORM } from "@mikro-orm/core";
import { DraftFactory } from "./drafts.ts";
import { markStatements, wrapDriver } from "./driver-writes.ts";
import { MikroOrmAdapterError } from "./errors.ts";
import { KoperMikroOrmSubscriber, type SubscriberDeps } from "./KoperMikroOrmSubscriber.ts";
import { patchEntityManager, subscriberOf } from "./native-writes.ts";
import { entityFilter, type KoperMikroOrmOptions } from "./options.ts";
import { sqlClientOf } from "./sql-client.ts";

/** What `koperMikroOrm` returns: the attachment, to undo with `detach()`. */
export interface KoperMikroOrmHandle {
  /** The MikroORM event subscriber Koper registered on the ORM's event manager. */
  readonly subscriber: KoperMikroOrmSubscriber;
  /** Stops capturing and restores the driver and the migrator; later writes publish nothing. */
  detach(): void;
}

// Methods whose writes are the schema's business, not the application's.
const SILENT = {
  "@mikro-orm/migrator": ["up", "down"],
  "@mikro-orm/schema-generator": ["create", "update", "drop", "refresh", "clear", "execute"],
} as const;

// Undoing what binding to an ORM changed, per subscriber.
const restorers = new WeakMap<KoperMikroOrmSubscriber, (() => void)[]>();

/**
 * Attaches Koper to an initialized MikroORM: every write through its EntityManagers (and their
 * forks) becomes a data event, published when its transaction commits.
 */
export function koperMikroOrm(orm: MikroORM, koper: Koper, options: KoperMikroOrmOptions = {}): KoperMikroOrmHandle {
  if (!isOrm(orm)) throw MikroOrmAdapterError.notAnOrm(orm);
  const subscriber = newSubscriber(koper, options);
  if (subscriberOf(orm.em)) throw MikroOrmAdapterError.alreadyAttached();
  subscriber.bindTo(orm.em); // checks the entity names before anything is registered
  // Every flush of an ORM with implicit transactions runs in one (whose unit of work the subscriber
  // learns at its start): there the flush hooks would cost each flush two dispatches for nothing.
  if (subscriber.settings.failures && !flushesInTransactions(orm)) subscriber.trackFlushesOutsideTransactions();
  orm.em.getEventManager().registerSubscriber(subscriber);
  return {
    subscriber,
    detach: () => detachSubscriber(subscriber),
  };
}

/**
 * The same capture as a MikroORM event subscriber, for `MikroORM.init({ subscribers: [it] })`.
 * It binds to the ORM on its first event or EntityManager write. One limit of this form: a
 * QueryBuilder write that is the ORM's very first operation is not seen (`koperMikroOrm(orm, …)`
 * binds at once).
 */
export function koperMikroOrmSubscriber(koper: Koper, options: KoperMikroOrmOptions = {}): KoperMikroOrmSubscriber {
  const subscriber = newSubscriber(koper, options);
  // Registered by MikroORM.init before it knows the ORM: the flush hooks stay when failures are on.
  if (options.failures ?? true) subscriber.trackFlushesOutsideTransactions();
  return subscriber;
}

function newSubscriber(koper: Koper, options: KoperMikroOrmOptions): KoperMikroOrmSubscriber {
  if (!koper || typeof koper !== "object" || !("capture" in koper)) throw MikroOrmAdapterError.notAKoper(koper);
  // Every EntityManager shares core's prototype: writes are seen before the first hook fires.
  patchEntityManager(Object.create(EntityManager.prototype) as EntityManager);
  const subscriber: KoperMikroOrmSubscriber = new KoperMikroOrmSubscriber((em) => {
    const deps = makeDeps(em, koper, options);
    patchEntityManager(em); // the SQL EntityManager's createQueryBuilder
    restorers.set(subscriber, bindOrm(em, subscriber));
    return deps;
  });
  return subscriber;
}

function flushesInTransactions(orm: MikroORM): boolean {
  return orm.config.get("implicitTransactions") !== false && orm.em.getPlatform().supportsTransactions();
}

/** Stops a subscriber (either form) and restores what it changed. */
export function detachSubscriber(subscriber: KoperMikroOrmSubscriber): void {
  if (!subscriber.active) return;
  subscriber.active = false;
  for (const undo of (restorers.get(subscriber) ?? []).reverse()) undo();
  restorers.delete(subscriber);
}

function makeDeps(em: EntityManager, koper: Koper, options: KoperMikroOrmOptions): SubscriberDeps {
  checkNames(em, options);
  if (options.audit) koper.useAudit(sqlClientOf(em), options.audit === true ? {} : options.audit);
  if (options.outbox) koper.attachOutbox(sqlClientOf(em), options.outbox === true ? {} : options.outbox);
  const family = databaseFamily(em.getPlatform().constructor.name);
  const override = options.failedStatementAbortsTransaction;
  const dbName = options.database ?? em.config.get("dbName");
  return {
    capture: koper.capture,
    drafts: new DraftFactory(typeof dbName === "string" && dbName !== "" && dbName !== ":memory:" ? dbName : undefined),
    wanted: entityFilter(options),
    bulk: options.bulk ?? true,
    failures: options.failures ?? true,
    lookupJoinColumns: options.lookupJoinColumns ?? true,
    family,
    abortsTransaction: (info) => override ?? failureAbortsTransaction(family, info),
    onError: options.onError ?? ((error) => koper.logger.error("[koper/mikro-orm] a hook failed; the write itself is unaffected", { error })),
  };
}

// The driver (flush failures, many-to-many writes), its connection (statements sent) and the schema tools (silenced) of one ORM.
function bindOrm(em: EntityManager, subscriber: KoperMikroOrmSubscriber): (() => void)[] {
  markStatements(em.getDriver().getConnection());
  const restore = [wrapDriver(em.getDriver(), subscriber)];
  for (const [key, methods] of Object.entries(SILENT)) {
    const extension = em.config.getExtension(key) as Record<string, unknown> | undefined;
    if (!extension) continue;
    for (const name of methods) {
      const original = extension[name];
      if (typeof original !== "function") continue;
      const own = Object.getOwnPropertyDescriptor(extension, name);
      extension[name] = (...args: unknown[]) => runSilenced(() => (original as (...a: unknown[]) => unknown).apply(extension, args));
      restore.push(() => (own ? Object.defineProperty(extension, name, own) : delete extension[name]));
    }
  }
  return restore;
}

// A misspelt entity name would silently capture nothing: refuse it once metadata exists.
function checkNames(em: EntityManager, options: KoperMikroOrmOptions): void {
  const all = em.getMetadata().getAll() as unknown as Map<unknown, EntityMetadata<AnyEntity>> | Record<string, EntityMetadata<AnyEntity>>;
  const metas = all instanceof Map ? [...all.values()] : Object.values(all);
  const known = metas.filter((m) => !m.embeddable && !m.virtual).map((m) => m.className);
  const tables = metas.map((m) => m.tableName).filter(Boolean);
  for (const name of unknownEntityNames(options, [...known, ...tables])) throw MikroOrmAdapterError.unknownEntity(name, known);
}

function isOrm(value: unknown): value is MikroORM {
  return typeof value === "object" && value !== null && "em" in value && "config" in value && typeof (value as { em: unknown }).em === "object";
}
