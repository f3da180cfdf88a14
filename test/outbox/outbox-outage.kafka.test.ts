// A broker outage longer than every producer timeout, with the outbox on PostgreSQL: writes go on
// committing, the relay keeps retrying, and once the broker is back every committed event arrives,
// in commit order per key.
import { ensureOutboxTable, type Koper } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, describe, expect, it } from "vitest";
import { koperFor, uniqueName, until } from "../kafka/support.ts";
import { pgSqlClient } from "../support/sql-clients.ts";
import { brokerEvents, firstArrivals, ownSchema, writeTransaction } from "./support.ts";

describe("outbox: broker outage", () => {
  const brokers: Broker[] = [];
  const kopers: Koper[] = [];
  const cleanup: (() => Promise<void>)[] = [];

  afterEach(async () => {
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await Promise.allSettled(brokers.splice(0).map((b) => b.stop()));
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });

  it("loses nothing and keeps each key's order while the broker is down for longer than the producer retries", { timeout: 120_000 }, async () => {
    const { schema } = await ownSchema("koper_outage", cleanup);
    const client = pgSqlClient({ options: `-c search_path=${schema}` });
    cleanup.push(() => client.end());
    await ensureOutboxTable(client);

    const first = await startBroker({ port: 0 });
    brokers.push(first);
    const prefix = uniqueName("outage");
    let failedRounds = 0;
    const koper = koperFor(first.brokers, {
      topics: { prefix },
      // The producer gives up on a send within about a second: the outage outlasts it many times.
      kafka: { partitions: 3, retry: { initialRetryTime: 50, maxRetryTime: 200, retries: 2 }, requestTimeout: 500, connectionTimeout: 300 },
      outbox: { client, backoffMs: 50, maxBackoffMs: 400, pollIntervalMs: 50, onError: () => void failedRounds++ },
    });
    kopers.push(koper);
    await koper.start();
    const topic = koper.topicFor("Account");

    const seq = new Map<number, number>();
    let total = 0;
    const write = async (transactions: number) => {
      for (let t = 0; t < transactions; t++) {
        const rows = Array.from({ length: 5 }, (_, i) => {
          const key = (total + i * 7) % 11;
          const next = (seq.get(key) ?? 0) + 1;
          seq.set(key, next);
          return { key, seq: next };
        });
        await writeTransaction(koper, client, rows);
        total += rows.length;
      }
    };
    const held = (broker: Broker) => brokerEvents(broker, topic).reduce((n, p) => n + p.length, 0);

    await write(20);
    await until(() => held(first) >= total, () => `the first ${total} events (got ${held(first)})`, 30_000);

    await first.stop();
    const beforeOutage = failedRounds;
    // Writes go on committing while no broker listens; the relay fails round after round.
    await write(40);
    await until(() => failedRounds >= beforeOutage + 4, () => `four failed relay rounds during the outage (got ${failedRounds - beforeOutage})`, 60_000);
    await write(10);
    const pending = (await client.query("SELECT count(*)::int AS n FROM koper_outbox"))[0]!.n as number;
    expect(pending).toBeGreaterThanOrEqual(250);

    const second = await startBroker({ port: first.port, state: first.state });
    brokers.push(second);
    await write(10);
    await until(async () => (await client.query("SELECT id FROM koper_outbox")).length === 0, "the outbox to drain after the restart", 60_000);

    const { byId, perKey } = firstArrivals(brokerEvents(second, topic));
    expect(byId.size).toBe(total);
    for (const [key, seqs] of perKey) expect(seqs, key).toEqual(seqs.map((_, i) => i + 1));
    expect([...perKey.values()].reduce((n, s) => n + s.length, 0)).toBe(total);
  });
});
