import { isSilenced, methodOwner, type ChangeCapture } from "@koper/core";
import type { DataSource } from "typeorm";

/**
 * Autocommit writes with their outbox/audit rows in one transaction.
 *
 * Outside a transaction, TypeORM's `insert`/`update`/`delete`/`upsert`/`softDelete`/`restore` (on
 * the EntityManager and the Repository) and query-builder writes run one statement in autocommit:
 * no transaction, so no before-COMMIT hook where the outbox or audit row could go. Each of them ends
 * in the `execute()` of one of four write query builders, which honour TypeORM's own
 * `useTransaction` option: when it is on and the runner has no transaction, `execute()` starts one,
 * runs the statement and its after-hooks, and commits (rolls back on error). That transaction fires
 * the usual transaction events, so the subscriber writes the rows in `beforeTransactionCommit`, and
 * an error there rolls the write back and reaches the caller.
 *
 * TypeORM offers no per-DataSource default for `useTransaction`, so `execute()` of those four classes
 * is wrapped, once per TypeORM copy (an application may load two), and turns the option on for the
 * call only, when the builder's DataSource has Koper attached with an in-transaction writer. Without
 * one (direct mode) nothing changes: no transaction, and the cost is one property read per write.
 * `useTransaction` is read before `execute()`'s first await, so it is restored right after the call.
 */
const WRAPPED = Symbol.for("koper.typeorm.autocommit");
/** Set on an attached DataSource: whether its autocommit writes need a transaction now. */
const WANTS_TRANSACTION = Symbol.for("koper.typeorm.autocommit.wants");

type Attached = DataSource & { [WANTS_TRANSACTION]?: () => boolean };
interface WriteBuilder {
  readonly connection: Attached;
  readonly expressionMap: { useTransaction: boolean };
}
type Execute = (this: WriteBuilder) => Promise<unknown>;

/**
 * Makes the DataSource's autocommit writes transactional whenever `capture` has an in-transaction
 * writer (checked per write: `koper.useAudit` may add one later). Returns the undo.
 */
export function wrapAutocommitWrites(dataSource: DataSource, capture: ChangeCapture): () => void {
  const target = dataSource as Attached;
  for (const proto of writeBuilderPrototypes(dataSource)) {
    if (proto[WRAPPED]) continue;
    const original = proto.execute as Execute;
    proto.execute = function (this: WriteBuilder) {
      const map = this.expressionMap;
      if (map.useTransaction || !this.connection[WANTS_TRANSACTION]?.()) return original.call(this);
      map.useTransaction = true;
      try {
        return original.call(this);
      } finally {
        map.useTransaction = false;
      }
    } satisfies Execute;
    proto[WRAPPED] = true;
  }
  // Schema sync and migrations (silenced) keep TypeORM's own transaction handling.
  target[WANTS_TRANSACTION] = () => capture.writesInTransaction && !isSilenced();
  return () => {
    delete target[WANTS_TRANSACTION];
  };
}

// The write builders of the DataSource's own TypeORM copy, found by building one of each (no SQL is sent).
function writeBuilderPrototypes(dataSource: DataSource): Record<string | symbol, unknown>[] {
  const select = () => dataSource.createQueryBuilder();
  const builders = [select().insert(), select().update(), select().delete(), select().softDelete()];
  const protos = builders.map((builder) => methodOwner(builder, "execute"));
  return protos.filter((proto, i): proto is Record<string | symbol, unknown> => proto !== undefined && protos.indexOf(proto) === i);
}
