// The outbox relay (part of `npm run bench -- outbox`): drain rate to the in-process transport and
// commit → handled latency, on PostgreSQL through TypeORM. Rows are written by one Koper (relay off)
// and relayed by another (as a relay process would be), whose SqlClient counts the statements.
import { dataListener, ensureOutboxTable, Koper, type DataEvent, type SqlClient, type TxExecutor } from "@koper/core";
import type { AdapterHarness, HarnessFactory } from "../test/contract/harness.ts";
import { conditions } from "./interleave.ts";
import { fmt, percentiles, report } from "./support.ts";

const DRAIN_EVENTS = 20_000;
const LATENCY_WRITES = 300;

interface Counted {
  client: SqlClient;
  statements: () => number;
}

// Every statement the relay sends, BEGIN and COMMIT included (a transaction is two more round trips).
function counting(client: SqlClient): Counted {
  let statements = 0;
  const wrap = (tx: TxExecutor): TxExecutor => ({
    dialect: tx.dialect,
    query: (sql, params) => {
      statements++;
      return tx.query(sql, params);
    },
  });
  return {
    client: {
      ...wrap(client),
      transaction: (fn) => {
        statements += 2;
        return client.transaction((tx) => fn(wrap(tx)));
      },
      ...(client.listen ? { listen: client.listen.bind(client) } : {}),
    },
    statements: () => statements,
  };
}

interface Relay {
  koper: Koper;
  handled: DataEvent[];
  counted: Counted;
}

async function relayKoper(db: AdapterHarness, table: string, start: boolean): Promise<Relay> {
  const counted = counting(db.sqlClient);
  const handled: DataEvent[] = [];
  const koper = new Koper({ outbox: { client: counted.client, table, relay: start } });
  koper.register(dataListener()({ entity: "Order", onInsertOrder: (_o, event) => void handled.push(event) }));
  await koper.start();
  return { koper, handled, counted };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
let n = 0;

async function drainFigures(db: AdapterHarness, table: string): Promise<void> {
  for (let t = 0; t < DRAIN_EVENTS / 100; t++) await db.transaction(async (tx) => { for (let i = 0; i < 100; i++) await tx.insertOrder({ number: `D-${n++}`, qty: 1 }); });
  const relay = await relayKoper(db, table, false);
  try {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const drained = await relay.koper.relay!.drain();
    const relayed = performance.now() - started;
    while (relay.handled.length < drained) await tick();
    const handled = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const perEvent = (used.user + used.system) / drained;
    report("outbox relay drain (typeorm postgres, in-process transport)", `${fmt(drained / (relayed / 1000))} events/s relayed, ${fmt(drained / (handled / 1000))} events/s handled (${fmt(drained)} events)`);
    report("  relay process CPU per event (relay + handlers)", `${fmt(perEvent, 1)} µs; ${fmt(relay.counted.statements())} SQL statements (BEGIN/COMMIT included)`);
  } finally {
    await relay.koper.stop();
  }
}

// Single autocommit writes, one at a time; the latency of each is commit → its handler ran.
async function latencies(db: AdapterHarness, handled: DataEvent[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < LATENCY_WRITES; i++) {
    const before = handled.length;
    await db.insertOrder({ number: `L-${n++}`, qty: 1 });
    while (handled.length === before) await tick();
    const event = handled[handled.length - 1]!;
    // On the clock that stamped `committed` (core's: time origin + monotonic time): Date.now() drifts
    // from it over a process's life, by milliseconds on some machines (negative latencies seen).
    out.push(performance.timeOrigin + performance.now() - event.time.committed!);
  }
  return out;
}

/** Drain rate, then commit → handled p50/p99 with the relay in the writing process and in another one (NOTIFY). */
export async function relayFigures(make: HarnessFactory): Promise<void> {
  report("outbox relay", conditions());
  const table = `bench_relay_${Math.random().toString(36).slice(2, 8)}`;
  // The writer: its own relay handles the latency round woken on commit.
  const writer = new Koper();
  const inWriter: DataEvent[] = [];
  writer.register(dataListener()({ entity: "Order", onInsertOrder: (_o, event) => void inWriter.push(event) }));
  const db = await make(writer, { outbox: { table, relay: false } });
  await ensureOutboxTable(db.sqlClient, { table });
  await writer.start();
  try {
    await drainFigures(db, table);
    await writer.relay!.start();
    report("outbox commit → handled (relay in the writer, woken on commit)", percentiles(await latencies(db, inWriter)));
    await writer.relay!.stop();
    const other = await relayKoper(db, table, true);
    try {
      report("outbox commit → handled (relay in another Koper, LISTEN/NOTIFY)", percentiles(await latencies(db, other.handled)));
    } finally {
      await other.koper.stop();
    }
  } finally {
    await writer.stop();
    await db.sqlClient.query(`DROP TABLE ${table}`);
    await db.sqlClient.query(`DROP TABLE ${table}_lease`);
    await db.close();
  }
}
