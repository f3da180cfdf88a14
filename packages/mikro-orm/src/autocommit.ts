import type { TxHandle } from "@koper/core";
import type { EntityManager, Transaction } from "@mikro-orm/core";
import type { KoperMikroOrmSubscriber } from "./KoperMikroOrmSubscriber.ts";
import { dialectOf, executorOf } from "./sql-client.ts";

interface TransactionalConnection {
  transactional<T>(cb: (trx: Transaction) => Promise<T>): Promise<T>;
}

/**
 * True when a native write (no unit of work) outside a transaction must get one of its own: an
 * outbox or audit is on, and its rows must commit with the write. Direct mode never pays for it.
 */
export function needsOwnTransaction(sub: KoperMikroOrmSubscriber, tx: TxHandle | undefined): boolean {
  return tx === undefined && sub.settings.capture.writesInTransaction;
}

/**
 * Runs an autocommit native write (`em.insert`, `insertMany`, `nativeUpdate`, `nativeDelete`,
 * `upsert`, `clone`, a QueryBuilder write) and its outbox/audit rows in one transaction, through the
 * connection's own `transactional()`: `run` gets the transaction and passes it to MikroORM as the
 * call's `ctx`. The capture is told of the transaction directly, as the subscriber's transaction
 * hooks would be: the rows are written just before COMMIT, and an error there (or in the write)
 * rolls both back and reaches the caller.
 *
 * Not `em.transactional()`: it runs the callback on a fork and flushes it, so entities the
 * application persisted but has not flushed yet would be written too, inside Koper's transaction.
 * Nor with MikroORM's transaction event broadcaster: the application's own subscribers would then
 * see a transaction it never opened.
 */
export async function inOwnTransaction<T>(sub: KoperMikroOrmSubscriber, em: EntityManager, run: (trx: Transaction) => Promise<T>): Promise<T> {
  const { capture } = sub.settings;
  const connection = em.getConnection("write") as unknown as TransactionalConnection;
  let opened: Transaction | undefined;
  let result: T;
  try {
    result = await connection.transactional(async (trx) => {
      opened = trx;
      capture.begin(trx);
      const value = await run(trx);
      await capture.beforeCommit(trx, executorOf(em, trx, dialectOf(em)));
      return value;
    });
  } catch (error) {
    // The connection is released by now: the failed attempts' audit rows are written before the call rejects.
    if (opened) await capture.rollback(opened);
    throw error;
  }
  await capture.commit(opened!).catch(sub.settings.onError);
  return result;
}

/** The call's arguments with the transaction as its options' `ctx` (the options are argument `at`). */
export function withTransaction(args: readonly unknown[], at: number, trx: Transaction): unknown[] {
  const copy = [...args];
  while (copy.length < at) copy.push(undefined);
  copy[at] = { ...(copy[at] as object | undefined), ctx: trx };
  return copy;
}
