import { readFileSync } from "node:fs";
import { bucketOf, OutboxRelay, type OutboxStore, type PendingRow } from "@koper/core";
import { describe, expect, it } from "vitest";
import { outboxSql } from "../src/outbox/outbox-sql.ts";

describe("outbox migrations", () => {
  it.each([
    ["postgres", "postgres"],
    ["mariadb", "mysql"],
    ["sqlite", "sqlite"],
  ] as const)("outbox-%s.sql holds exactly what ensureOutboxTable() creates", (file, dialect) => {
    const sql = readFileSync(new URL(`../src/outbox/migrations/outbox-${file}.sql`, import.meta.url), "utf8");
    for (const statement of outboxSql(dialect, "koper_outbox").create) expect(sql).toContain(statement + ";");
    const buckets = Array.from({ length: 64 }, (_, i) => `(${i})`).join(", ");
    expect(sql).toContain(`koper_outbox_lease (bucket) VALUES ${buckets}`);
  });

  it("one key always lands in one bucket, and keys spread over the buckets", () => {
    expect(bucketOf("Order:1", 64)).toBe(bucketOf("Order:1", 64));
    const used = new Set(Array.from({ length: 1000 }, (_, i) => bucketOf(`Order:${i}`, 64)));
    expect(used.size).toBe(64);
  });
});

// A fake of Koper's own OutboxStore interface: rows in memory, "done" only when claim's fn resolves.
function memoryStore(rows: PendingRow[]): OutboxStore & { rows: PendingRow[] } {
  return {
    rows,
    dialect: "postgres",
    insert: async () => {},
    async claim(limit, fn) {
      const batch = rows.slice(0, limit);
      if (batch.length === 0) return 0;
      await fn(batch);
      for (const row of batch) rows.splice(rows.indexOf(row), 1);
      return batch.length;
    },
    expire: async () => {},
  };
}

const row = (id: number): PendingRow => ({
  id,
  eventId: `e${id}`,
  entity: "Order",
  routingKey: `Order:${id}`,
  topic: "koper.Order",
  payload: JSON.stringify({ id: `e${id}`, entity: "Order", key: { id }, time: {} }),
});

describe("OutboxRelay", () => {
  it("keeps rows while the transport fails, retries with backoff, and publishes them all in order once it is back", async () => {
    const store = memoryStore([1, 2, 3, 4, 5].map(row));
    const sent: string[] = [];
    let failuresLeft = 4;
    const errors: number[] = [];
    const relay = new OutboxRelay(
      store,
      async (rows) => {
        if (failuresLeft-- > 0) throw new Error("broker down");
        sent.push(...rows.map((r) => r.eventId));
      },
      { batchSize: 2, backoffMs: 1, maxBackoffMs: 4, pollIntervalMs: 5, onError: (_e, n) => void errors.push(n) },
    );
    await relay.start();
    while (store.rows.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await relay.stop();
    expect(errors).toEqual([1, 2, 3, 4]);
    expect(sent).toEqual(["e1", "e2", "e3", "e4", "e5"]);
  });

  it("drain() rejects with the transport's error and leaves the rows pending", async () => {
    const store = memoryStore([row(1)]);
    const relay = new OutboxRelay(store, async () => Promise.reject(new Error("broker down")));
    await expect(relay.drain()).rejects.toThrow("broker down");
    expect(store.rows).toHaveLength(1);
  });
});
