import type { Row } from "@koper/core";
import type { AnyEntity, EntityManager, EntityMetadata } from "@mikro-orm/core";
import type { KoperMikroOrmSubscriber } from "./KoperMikroOrmSubscriber.ts";
import { distinctKeys, matchRows, type Read } from "./key-match.ts";
import { snapshotRow } from "./rows.ts";

type Meta = EntityMetadata<AnyEntity>;

/**
 * The entities about to be deleted that MikroORM never loaded (`em.remove(em.getReference(…))`),
 * by entity: their delete events must still carry the row (its references' keys above all), and
 * the row is gone once the flush ran. Undefined (one set-size check) when there are none.
 */
export function unloadedRemovals(em: EntityManager): Map<Meta, AnyEntity[]> | undefined {
  const stack = em.getUnitOfWork().getRemoveStack();
  if (stack.size === 0) return undefined;
  let found: Map<Meta, AnyEntity[]> | undefined;
  for (const entity of stack) {
    const wrapped = (entity as { __helper?: { __initialized?: boolean; __meta?: Meta } }).__helper;
    if (!wrapped || wrapped.__initialized !== false || !wrapped.__meta) continue;
    found ??= new Map();
    const list = found.get(wrapped.__meta) ?? [];
    list.push(entity);
    found.set(wrapped.__meta, list);
  }
  return found;
}

// Keys per read of removed never-loaded entities (well under every driver's parameter limit).
const LOAD_CHUNK = 1000;

/**
 * Reads the rows of `unloadedRemovals` before the flush (one query per entity, in the transaction the flush runs in when
 * there is one, else just before the flush's own), for their delete events' `before`; each row goes
 * to its entity by key as the database compares it (`matchRows`). Through the
 * driver: a plain SELECT of the columns by primary key that makes no entity, so no onLoad hook or
 * subscriber of the application runs, no eager relation is populated, and the references stay
 * unloaded. Filters off (the driver applies none), to read exactly the rows the DELETE will remove;
 * on the write connection, not a replica. A failure only costs the event its `before`: the flush
 * itself runs as it would have.
 */
export async function loadRemoved(sub: KoperMikroOrmSubscriber, em: EntityManager, unloaded: Map<Meta, AnyEntity[]>): Promise<void> {
  const ctx = em.getContext().getTransactionContext(); // the em the flush runs on (a request's, a transaction's)
  const platform = em.getPlatform();
  for (const [meta, entities] of unloaded) {
    if (!sub.captures(meta) || meta.primaryKeys.length !== 1) continue;
    const [pk] = meta.primaryKeys as string[];
    const options = { populate: [], ctx, connectionType: "write" } as never;
    const read: Read = async (where) => ((await em.getDriver().find(meta.class as never, where as never, options).catch(sub.settings.onError)) ?? []) as Row[];
    const removed = distinctKeys(meta, platform, entities);
    // In chunks, as MikroORM deletes them: one `$in` of every key could pass a driver's parameter limit.
    for (let i = 0; i < removed.length; i += LOAD_CHUNK) {
      const chunk = removed.slice(i, i + LOAD_CHUNK);
      const rows = await read({ [pk!]: { $in: chunk.map((r) => r.key) } });
      for (const [entity, row] of await matchRows(meta, platform, chunk, rows, read)) {
        const before = snapshotRow(meta, row);
        if (before) sub.settings.drafts.readBefore(entity, before);
      }
    }
  }
}
