import { ensureAuditTable, isKoperError, type AuditLog, type LifecycleEvent } from "@koper/core";
import { describe, expect } from "vitest";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/** Turns the audit on for this test's Koper, on a table of its own (what `audit: { table }` on the adapter does). */
async function audited(world: ContractWorld) {
  const { koper, db } = world;
  const table = `koper_audit_${Math.random().toString(36).slice(2, 10)}`;
  await ensureAuditTable(db.sqlClient, { table });
  const log: AuditLog = koper.useAudit(db.sqlClient, { table, entities: ["Order", "Customer"] });
  const rows = () => db.sqlClient.query(`SELECT * FROM ${table}`);
  return {
    log,
    rows,
    dump: async () => JSON.stringify(await rows(), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)),
    drop: () => db.sqlClient.query(`DROP TABLE ${table}`),
  };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the failed attempt's audit row");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The audit trail on the adapter's own transactions: history, diffs, states, rollbacks, failures, erasure. */
export function auditContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("audit trail", () => {
    contractTest("audit.history", "history after insert/update/update/delete is the writes, with diffs, actors and each state", async () => {
      const w = world();
      const a = await audited(w);
      try {
        const number = num();
        const order = await w.koper.runWith({ actor: "alice" }, () => w.db.insertOrder({ number, qty: 1 }));
        await w.koper.runWith({ actor: "bob", requestId: "r-2" }, () => w.db.updateOrder(order.id, { qty: 2 }));
        await new Promise((resolve) => setTimeout(resolve, 3));
        await w.koper.runWith({ actor: "alice" }, () => w.db.updateOrder(order.id, { note: "gift" }));
        await new Promise((resolve) => setTimeout(resolve, 3));
        await w.koper.runWith({ actor: "carol" }, () => w.db.deleteOrder(order.id));
        const history = await a.log.history("Order", order.id);
        expect(history.map((v) => [v.action, v.outcome, v.actor])).toEqual([
          ["insert", "committed", "alice"], ["update", "committed", "bob"], ["update", "committed", "alice"], ["delete", "committed", "carol"],
        ]);
        expect(history[0]!.diff).toContainEqual({ field: "number", from: undefined, to: number });
        expect(history[1]!.diff).toContainEqual({ field: "qty", from: 1, to: 2 });
        expect(history[1]!.diff.map((c) => c.field)).not.toContain("number");
        expect(history[1]!.requestId).toBe("r-2");
        expect(history[2]!.diff).toContainEqual({ field: "note", from: null, to: "gift" });
        expect(history[3]!.diff).toContainEqual({ field: "qty", from: 2, to: undefined });
        const expected = [{ number, qty: 1, note: null }, { number, qty: 2, note: null }, { number, qty: 2, note: "gift" }];
        for (const [i, version] of history.slice(0, 3).entries()) {
          expect(version.state).toMatchObject(expected[i]!);
          expect(await a.log.stateAt("Order", order.id, version.time.committed!)).toMatchObject(expected[i]!);
        }
        expect(await a.log.stateAt("Order", { id: order.id }, history[3]!.time.committed!)).toBeNull();
        const tx = await a.log.transaction(history[1]!.transaction.id);
        expect(tx.map((e) => e.eventId)).toEqual([history[1]!.eventId]);
      } finally {
        await a.drop();
      }
    });

    contractTest("audit.values", "each version's before and after are the event's, value for value and type for type (Dates, JSON)", async () => {
      const w = world();
      const a = await audited(w);
      try {
        // Whole seconds: MariaDB's DATETIME keeps no fraction unless the column says so.
        const placed = new Date("2024-02-29T12:34:56.000Z");
        const order = await w.db.insertOrder({ number: num(), qty: 1, note: "first", createdAt: placed });
        await new Promise((resolve) => setTimeout(resolve, 3));
        await w.db.updateOrder(order.id, { qty: 2 });
        await new Promise((resolve) => setTimeout(resolve, 3));
        await w.db.deleteOrder(order.id);
        const calls = (await w.listener.waitFor(3)).filter((call) => call.event.entity === "Order");
        const history = await a.log.history("Order", order.id);
        expect(history.map((v) => v.eventId)).toEqual(calls.map((call) => call.event.id));
        for (const [i, version] of history.entries()) {
          const { event } = calls[i]!;
          expect(version.after).toEqual(event.data);
          expect(version.before).toEqual(event.before ?? null);
          expect(version.key).toEqual(event.key);
        }
        // Whatever Date fields the ORM's rows carry (timestamps) come back as Dates, not as text.
        const dates = (row: unknown) => Object.entries(row ?? {}).filter(([, value]) => value instanceof Date).map(([field]) => field);
        expect(dates(history[1]!.after)).toEqual(dates(calls[1]!.event.data));
        // The timestamp written comes back from the audit table as a Date of the same instant, in every state that holds it.
        const stamped = [history[0]!.after, history[1]!.before, history[1]!.after, history[2]!.before];
        expect(stamped.map((state) => state?.createdAt instanceof Date)).toEqual([true, true, true, true]);
        expect(stamped.map((state) => (state!.createdAt as Date).getTime())).toEqual(stamped.map(() => placed.getTime()));
      } finally {
        await a.drop();
      }
    });

    contractTest("audit.rollback", "a rolled-back transaction and a poisoned one leave no audit row; a failed attempt is kept as failed", async () => {
      const w = world();
      const a = await audited(w);
      try {
        const [rolled, kept, dup] = [num(), num(), num()];
        await expect(w.db.transaction(async (tx) => {
          await tx.insertOrder({ number: rolled, qty: 1 });
          throw new Error("roll back");
        })).rejects.toThrow("roll back");
        await w.db.insertOrder({ number: dup, qty: 1 });
        await w.db.transaction(async (tx) => {
          await tx.insertOrder({ number: kept, qty: 1 });
          await tx.insertOrder({ number: dup, qty: 2 }).catch(() => {});
        }).catch(() => {});
        const committed = (await w.db.findOrderByNumber(kept)) !== null;
        await expect(w.db.insertOrderWithoutNumber(5)).rejects.toBeDefined();
        // The failures' rows are written after the rollback (the one inside the transaction too): settle()
        // waits for those it tracks; the adapter reports the autocommit one as it happens.
        await w.koper.settle();
        await eventually(async () => (await a.log.changes({ entity: "Order" })).entries.some((e) => e.outcome === "failed" && e.after?.qty === 5));
        const dump = await a.dump();
        expect(dump).not.toContain(rolled);
        const entries = (await a.log.changes({ entity: "Order" })).entries;
        const committedNumbers = entries.filter((e) => e.outcome === "committed").map((e) => e.after?.number);
        expect(committedNumbers).toEqual(committed ? [dup, kept] : [dup]);
        const failed = entries.filter((e) => e.outcome === "failed");
        expect(failed.map((e) => [e.action, e.after?.qty])).toContainEqual(["insert", 5]);
        expect(failed.every((e) => e.error?.code)).toBe(true);
        // Every stored row is one of these entries: nothing else was written.
        expect((await a.rows()).length).toBe(entries.length);
      } finally {
        await a.drop();
      }
    });

    contractTest("audit.settle", "a failed write inside a transaction: after await koper.settle() its failed row is in the audit table", async () => {
      const w = world();
      const a = await audited(w);
      try {
        const dup = num();
        await w.db.insertOrder({ number: dup, qty: 1 });
        await expect(w.db.transaction(async (tx) => {
          await tx.insertOrder({ number: dup, qty: 7 });
        })).rejects.toBeDefined();
        await w.koper.settle(); // no polling: settle() waits for the rows written after the rollback
        const entries = (await a.log.changes({ entity: "Order" })).entries;
        expect(entries.filter((e) => e.outcome === "failed").map((e) => [e.action, e.after?.qty])).toContainEqual(["insert", 7]);
      } finally {
        await a.drop();
      }
    });

    contractTest("audit.write_error", "an audit table that refuses the failed attempt's row: a typed audit_failed event, no unhandled rejection", async () => {
      const w = world();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      const reported: LifecycleEvent<"audit_failed">[] = [];
      const off = w.koper.on("audit_failed", (event) => void reported.push(event));
      try {
        w.koper.useAudit(w.db.sqlClient, { table: `koper_audit_missing_${Math.random().toString(36).slice(2, 10)}`, entities: ["Order"] });
        await expect(w.db.transaction(async (tx) => {
          await tx.insertOrderWithoutNumber(9);
        })).rejects.toBeDefined();
        await w.koper.settle();
        await new Promise((resolve) => setTimeout(resolve, 50)); // an unhandled rejection would be reported by now
        expect(unhandled).toEqual([]);
        expect(reported.length).toBeGreaterThan(0);
        const { error, entities, ids } = reported[0]!.payload;
        expect(isKoperError(error) && error.code).toBe("audit_write_failed");
        expect(entities).toEqual(["Order"]);
        expect(ids.length).toBeGreaterThan(0);
      } finally {
        off();
        process.off("unhandledRejection", onUnhandled);
      }
    });

    contractTest("audit.bulk", "a write by criteria is kept as a bulk entry (criteria, set, count)", async () => {
      const w = world();
      const a = await audited(w);
      try {
        await w.db.insertOrder({ number: num(), qty: 40 });
        await w.db.bulkUpdateOrders(40, "bulk-note");
        const bulk = (await a.log.changes({ entity: "Order", action: "update" })).entries.find((e) => e.bulk);
        expect(bulk?.bulk).toMatchObject({ set: { note: "bulk-note" } });
        expect(bulk?.bulk?.criteria).not.toBeNull();
      } finally {
        await a.drop();
      }
    });

    contractTest("audit.option", "the adapter's audit option writes the audited entities only, and makes koper.audit query them", async () => {
      const w = world();
      const table = `koper_audit_${Math.random().toString(36).slice(2, 10)}`;
      const db = await w.harness({ audit: { table, entities: ["Order"] } });
      await ensureAuditTable(db.sqlClient, { table });
      try {
        const order = await w.koper.runWith({ actor: "dora" }, () => db.insertOrder({ number: num(), qty: 3 }));
        await db.insertCustomer({ email: `${num()}@option.example`, passwordHash: "x" });
        const entries = (await w.koper.audit.changes()).entries;
        expect(entries.map((e) => [e.entity, e.key, e.actor])).toEqual([["Order", { id: order.id }, "dora"]]);
      } finally {
        await db.sqlClient.query(`DROP TABLE ${table}`);
      }
    });

    contractTest("audit.forget", "forget leaves no trace of a customer's erased values; redacted values never reach the table", async () => {
      const w = world();
      const a = await audited(w);
      try {
        const email = `${num()}@erase.example`;
        const newer = `${num()}@erase.example`;
        const customer = await w.db.insertCustomer({ email, passwordHash: "pw-hash-secret" });
        await w.db.updateCustomer(customer.id, { email: newer });
        expect(await a.dump()).toContain(newer);
        expect(await a.dump()).not.toContain("pw-hash-secret");
        const result = await a.log.forget("Customer", customer.id, ["email"]);
        expect(result.rows).toBe(2);
        const dump = await a.dump();
        expect(dump).not.toContain(email);
        expect(dump).not.toContain(newer);
        const history = await a.log.history("Customer", customer.id);
        expect(history.map((v) => v.action)).toEqual(["insert", "update", "forget"]);
        expect(history[0]!.after).not.toHaveProperty("passwordHash"); // redacted ("remove") by the capture, so never stored
      } finally {
        await a.drop();
      }
    });
  });
}
