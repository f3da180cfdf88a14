import { ensureOutboxTable, type DataEvent } from "@koper/core";
import { describe, expect } from "vitest";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

const tableName = () => `koper_outbox_${Math.random().toString(36).slice(2, 10)}`;

/** A harness with the outbox on a table of its own (relay not started: the test drains it). */
async function withOutbox(world: ContractWorld, options: { retentionMs?: number } = {}) {
  const table = tableName();
  const db = await world.harness({ outbox: { table, relay: false, ...options } });
  await ensureOutboxTable(db.sqlClient, { table });
  const rows = async () =>
    (await db.sqlClient.query(`SELECT id, event_id, entity, routing_key, bucket, topic, payload, published_at FROM ${table} ORDER BY id`)).map(
      (row): Record<string, unknown> & { event: DataEvent } => ({ ...row, event: JSON.parse(String(row.payload)) as DataEvent }),
    );
  const drop = async () => {
    await db.sqlClient.query(`DROP TABLE ${table}`);
    await db.sqlClient.query(`DROP TABLE ${table}_lease`);
  };
  return { db, table, rows, drop };
}

const numbers = (events: { event?: DataEvent; data?: unknown }[]) => events.map((e) => (e.event?.data as { number?: string } | undefined)?.number);

/** The transactional outbox on every adapter: rows written with the data, published by the relay. */
export function outboxContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("outbox", () => {
    contractTest("outbox.redaction", "no outbox row holds a redacted value: row writes, criteria writes and their SET, in a transaction", async () => {
      const { db, rows, drop } = await withOutbox(world());
      try {
        const secret = `secret-${num()}`;
        const newer = `newer-${num()}`;
        const later = `later-${num()}`;
        await db.transaction(async (tx) => {
          const customer = await tx.insertCustomer({ email: `${num()}@example.com`, passwordHash: secret });
          await tx.updateCustomer(customer.id, { passwordHash: newer });
          await tx.bulkUpdateCustomers({ anyOf: [{ passwordHash: newer }, { passwordHash: secret }] }, { passwordHash: later });
        });
        const pending = await rows();
        expect(pending.length).toBeGreaterThanOrEqual(3);
        const stored = JSON.stringify(pending);
        for (const value of [secret, newer, later]) expect(stored).not.toContain(value);
      } finally {
        await drop();
      }
    });

    contractTest("outbox.rows", "the outbox holds exactly the committed events (not a rollback, a rolled-back savepoint or a poisoned transaction); the relay publishes them in order", async () => {
      const w = world();
      const { db, rows, drop } = await withOutbox(w);
      try {
        const [a, b, c, d, dup, p] = [num(), num(), num(), num(), num(), num()];
        await db.transaction(async (tx) => {
          await tx.insertOrder({ number: a, qty: 1 });
          await tx.savepoint(async (inner) => {
            await inner.insertOrder({ number: b, qty: 2 });
            throw new Error("undo the savepoint");
          }).catch(() => {});
          await tx.savepoint((inner) => inner.insertOrder({ number: c, qty: 3 }).then(() => {}));
        });
        await db.transaction(async (tx) => {
          await tx.insertOrder({ number: d, qty: 4 });
          throw new Error("roll back");
        }).catch(() => {});
        await db.insertOrder({ number: dup, qty: 5 });
        await db.transaction(async (tx) => {
          await tx.insertOrder({ number: p, qty: 6 });
          await tx.insertOrder({ number: dup, qty: 7 }).catch(() => {});
        }).catch(() => {});
        const poisoned = db.capabilities.failedStatementAbortsTransaction;
        const expected = poisoned ? [a, c, dup] : [a, c, dup, p];
        const pending = await rows();
        expect(numbers(pending)).toEqual(expected);
        expect(pending.every((row) => row.published_at === null)).toBe(true);
        expect(pending.map((row) => row.event_id)).toEqual(pending.map((row) => row.event.id));
        expect(pending.map((row) => row.topic)).toEqual(pending.map(() => w.koper.topicFor("Order")));
        expect(pending[0]!.routing_key).toBe(`Order:${pending[0]!.event.key!.id}`);
        // Nothing was published at COMMIT: only the failure event of the duplicate.
        expect(w.listener.calls.filter((call) => call.handler === "onInsertOrder")).toEqual([]);
        expect(await w.koper.relay!.drain()).toBe(expected.length);
        const calls = await w.listener.waitFor(expected.length + 1);
        expect(numbers(calls.filter((call) => call.handler === "onInsertOrder"))).toEqual(expected);
        expect(await rows()).toEqual([]);
      } finally {
        await drop();
      }
    });

    contractTest("outbox.autocommit", "an autocommit write and its outbox row commit together", async () => {
      const w = world();
      const { db, rows, drop } = await withOutbox(w);
      try {
        const a = num();
        const order = await db.insertOrder({ number: a, qty: 1 });
        await db.updateOrder(order.id, { qty: 2 });
        await db.deleteOrder(order.id);
        const pending = await rows();
        expect(pending.map((row) => row.event.action)).toEqual(["insert", "update", "delete"]);
        await w.koper.relay!.drain();
        const calls = await w.listener.waitFor(3);
        expect(calls.map((call) => call.handler)).toEqual(["onInsertOrder", "onUpdateOrder", "onDeleteOrder"]);
      } finally {
        await drop();
      }
    });

    contractTest("outbox.retention", "with retentionMs, done rows are kept with published_at", async () => {
      const w = world();
      const { db, rows, drop } = await withOutbox(w, { retentionMs: 60_000 });
      try {
        await db.insertOrder({ number: num(), qty: 1 });
        await w.koper.relay!.drain();
        const kept = await rows();
        expect(kept).toHaveLength(1);
        expect(Number(kept[0]!.published_at)).toBeGreaterThan(0);
        expect(await w.koper.relay!.drain()).toBe(0);
      } finally {
        await drop();
      }
    });

    contractTest("outbox.relay-wakes", "a started relay publishes what this process commits without waiting for its poll", async () => {
      const w = world();
      const { db, drop } = await withOutbox(w);
      const relay = w.koper.relay!;
      try {
        await relay.start();
        const order = await db.insertOrder({ number: num(), qty: 1 });
        for (let qty = 2; qty <= 5; qty++) await db.updateOrder(order.id, { qty });
        const calls = await w.listener.waitFor(5);
        expect(calls.map((call) => (call.event.data as { qty: number }).qty)).toEqual([1, 2, 3, 4, 5]);
      } finally {
        await relay.stop();
        await drop();
      }
    });
  });
}
