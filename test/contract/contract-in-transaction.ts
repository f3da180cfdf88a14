import type { DataEvent, InTransactionWriter, SqlClient } from "@koper/core";
import { describe, expect } from "vitest";
import type { AdapterHarness } from "./harness.ts";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/**
 * A writer of Koper's own interface that inserts one probe row per event, in the transaction it is
 * given: the probe table then holds exactly what the database committed with the data.
 */
async function probe(db: AdapterHarness, takesOverPublishing: boolean) {
  // Counts the transactions the capture opens itself (a commit no before-COMMIT hook handed off).
  let ownTransactions = 0;
  const client: SqlClient = {
    ...db.sqlClient,
    transaction: (fn) => {
      ownTransactions++;
      return db.sqlClient.transaction(fn);
    },
  };
  const table = `koper_probe_${Math.random().toString(36).slice(2, 10)}`;
  await client.query(`CREATE TABLE ${table} (event_id VARCHAR(64) NOT NULL, order_number VARCHAR(64))`);
  const mark = (i: number) => (client.dialect === "postgres" ? `$${i}` : "?");
  const writer: InTransactionWriter = {
    takesOverPublishing,
    async write(events: readonly DataEvent[], tx) {
      const values = events.map((_, i) => `(${mark(2 * i + 1)}, ${mark(2 * i + 2)})`).join(", ");
      await tx.query(`INSERT INTO ${table} (event_id, order_number) VALUES ${values}`, events.flatMap((e) => [e.id, String(e.data?.number ?? "")]));
    },
  };
  return {
    writer,
    client,
    numbers: async () => (await client.query(`SELECT order_number FROM ${table}`)).map((row) => String(row.order_number)).sort(),
    ownTransactions: () => ownTransactions,
    drop: () => client.query(`DROP TABLE ${table}`),
  };
}

/** The in-transaction write mechanism (outbox and audit): writers' rows commit and roll back with the data. */
export function inTransactionContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("in-transaction writers", () => {
    contractTest("in-transaction.commit", "a writer's rows commit with the data, holding only what committed (not a rolled-back savepoint)", async () => {
      const { koper, listener, db } = world();
      const p = await probe(db, true);
      try {
        koper.capture.use(p.writer, p.client);
        const [a, b, c] = [num(), num(), num()];
        await db.transaction(async (tx) => {
          await tx.insertOrder({ number: a, qty: 1 });
          await tx.savepoint(async (inner) => {
            await inner.insertOrder({ number: b, qty: 2 });
            throw new Error("undo the savepoint");
          }).catch(() => {});
          await tx.savepoint((inner) => inner.insertOrder({ number: c, qty: 3 }).then(() => {}));
        });
        expect(await p.numbers()).toEqual([a, c].sort());
        expect(p.ownTransactions()).toBe(0); // written inside the app's transaction, by the ORM's hook
        expect(await db.findOrderByNumber(b)).toBeNull();
        // The writer took over publishing: the commit published none of them.
        expect(await listener.settle(koper)).toEqual([]);
      } finally {
        await p.drop();
      }
    });

    contractTest("in-transaction.rollback", "a rolled-back transaction leaves no writer row", async () => {
      const { koper, db } = world();
      const p = await probe(db, true);
      try {
        koper.capture.use(p.writer, p.client);
        const a = num();
        await expect(db.transaction(async (tx) => {
          await tx.insertOrder({ number: a, qty: 1 });
          throw new Error("roll back");
        })).rejects.toThrow("roll back");
        expect(await db.findOrderByNumber(a)).toBeNull();
        expect(await p.numbers()).toEqual([]);
      } finally {
        await p.drop();
      }
    });

    contractTest("in-transaction.swallowed-failure", "a swallowed failure: writer rows follow what the database really committed (none when poisoned)", async () => {
      const { koper, db } = world();
      const p = await probe(db, true);
      try {
        const [a, dup] = [num(), num()];
        await db.insertOrder({ number: dup, qty: 1 });
        koper.capture.use(p.writer, p.client);
        await db.transaction(async (tx) => {
          await tx.insertOrder({ number: a, qty: 1 });
          await tx.insertOrder({ number: dup, qty: 2 }).catch(() => {});
        }).catch(() => {});
        const committed = (await db.findOrderByNumber(a)) !== null;
        expect(committed).toBe(!db.capabilities.failedStatementAbortsTransaction);
        expect(await p.numbers()).toEqual(committed ? [a] : []);
      } finally {
        await p.drop();
      }
    });

    contractTest("in-transaction.audit-style", "a writer that does not take over publishing: rows written and the same events published", async () => {
      const { koper, listener, db } = world();
      const p = await probe(db, false);
      try {
        koper.capture.use(p.writer, p.client);
        const a = num();
        await db.transaction((tx) => tx.insertOrder({ number: a, qty: 1 }).then(() => {}));
        expect(await p.numbers()).toEqual([a]);
        expect(p.ownTransactions()).toBe(0);
        const calls = await listener.settle(koper);
        expect(calls.map((call) => call.event.data?.number)).toEqual([a]);
      } finally {
        await p.drop();
      }
    });

    contractTest("in-transaction.autocommit", "an autocommit write gets its writer row", async () => {
      const { koper, listener, db } = world();
      const p = await probe(db, true);
      try {
        koper.capture.use(p.writer, p.client);
        const a = num();
        await db.insertOrder({ number: a, qty: 1 });
        expect(await p.numbers()).toEqual([a]);
        expect(p.ownTransactions()).toBe(0); // the adapter (or the ORM) wrapped the write in a transaction
        expect(await listener.settle(koper)).toEqual([]);
      } finally {
        await p.drop();
      }
    });
  });
}
