// TypeORM write throughput with @koper/typeorm attached vs plain TypeORM, on sql.js and PostgreSQL.
// Each mode has its own DataSource (on sql.js its own in-memory database; on PostgreSQL the same
// table), attached once. The modes take turns chunk by chunk (a few saves, or one transaction,
// each, the order rotating: bench/interleave.ts), so drift (table growth, JIT, GC, other load on
// the machine) falls on every mode alike; wall and CPU ratios are medians of the per-round ratios.
import "reflect-metadata";
import { Socket } from "node:net";
import { Koper, dataListener } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryGeneratedColumn, type DataSourceOptions, type EntitySubscriberInterface } from "typeorm";
import { conditions, interleavedRound, rateOf, ratiosOf, type Tally } from "./interleave.ts";
import { fmt, report } from "./support.ts";

const table = `bench_order_${Math.random().toString(36).slice(2, 8)}`;

@Entity({ name: table })
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar", length: 40 }) number!: string;
  @Column({ type: "integer" }) qty!: number;
  @Column({ type: "varchar", length: 200 }) note!: string;
}

interface Workload {
  name: string;
  /** Chunks per mode per round. */
  chunks: number;
  /** One chunk: a few saves or one transaction; returns the rows written. */
  chunk(dataSource: DataSource, n: number): Promise<number>;
}

const order = (n: number) => Object.assign(new Order(), { number: `B-${n}`, qty: n % 7, note: "bench ".repeat(20) });

function workloads(singleChunks: number, transactionChunks: number): Workload[] {
  return [
    {
      name: "save() of single rows",
      chunks: singleChunks,
      chunk: async (dataSource, n) => {
        const repo = dataSource.getRepository(Order);
        for (let i = 0; i < 20; i++) await repo.save(order(n + i));
        return 20;
      },
    },
    {
      name: "100-row transactions",
      chunks: transactionChunks,
      chunk: async (dataSource, n) => {
        await dataSource.transaction(async (manager) => {
          for (let i = 0; i < 100; i++) await manager.save(order(n + i));
        });
        return 100;
      },
    },
  ];
}

/** Runs the TypeORM benchmark and prints rows/s with and without Koper, and their ratio. */
export async function runTypeormBench(): Promise<void> {
  await benchOn("sqlite (sql.js)", { type: "sqljs" }, workloads(20, 4), 12, false);
  if (await reachable(5432)) {
    const pg: DataSourceOptions = { type: "postgres", host: "127.0.0.1", port: 5432, username: "postgres", password: "", database: "test" };
    await benchOn("postgres", pg, workloads(15, 4), 9, true);
  } else {
    console.warn("  ⚠️  postgres not reachable on 127.0.0.1:5432: its TypeORM rounds are skipped");
  }
}

type Mode = "plain" | "floor" | "publish" | "listener";
const MODES: Mode[] = ["plain", "floor", "publish", "listener"];

/**
 * The floor: a subscriber with the hooks Koper's has, each doing nothing. What TypeORM itself
 * spends broadcasting them (an event object per hook and query, the subscriber loop) is paid by
 * any subscriber-based plugin, so "floor / plain" is the best ratio a subscriber can reach.
 */
class NoopSubscriber implements EntitySubscriberInterface {
  afterTransactionStart(): void {}
  beforeTransactionCommit(): void {}
  afterTransactionCommit(): void {}
  afterTransactionRollback(): void {}
  afterQuery(): void {}
  afterInsert(): void {}
  afterUpdate(): void {}
  beforeRemove(): void {}
  afterRemove(): void {}
  afterSoftRemove(): void {}
  afterRecover(): void {}
}

async function benchOn(label: string, options: DataSourceOptions, loads: Workload[], roundCount: number, shared: boolean): Promise<void> {
  // "publish": Koper captures and publishes (consumers elsewhere, as with Kafka).
  // "listener": a listener in this same process also receives every event, on the same CPU.
  const publisher = new Koper();
  const consumer = new Koper();
  let handled = 0;
  consumer.register(dataListener()({ entity: "Order", onInsertOrder: () => void handled++ }));
  await Promise.all([publisher.start(), consumer.start()]);
  const sources = {} as Record<Mode, DataSource>;
  for (const mode of MODES) {
    // A shared table is created once, by the plain DataSource.
    const synchronize = !shared || mode === "plain";
    sources[mode] = await new DataSource({ ...options, entities: [Order], synchronize, logging: false }).initialize();
  }
  sources.floor.subscribers.push(new NoopSubscriber());
  koperTypeorm(sources.publish, publisher);
  koperTypeorm(sources.listener, consumer);
  // TypeORM's clear() is a raw statement: it publishes nothing.
  const clear = () => Promise.all((shared ? (["plain"] as Mode[]) : MODES).map((mode) => sources[mode].getRepository(Order).clear()));
  try {
    report(`typeorm ${label}`, conditions());
    for (const load of loads) {
      let n = 0;
      const chunk = (mode: Mode) => load.chunk(sources[mode], (n += 1000));
      await interleavedRound(MODES, 2, 0, chunk); // warm-up, unmeasured
      const rounds: Record<Mode, Tally>[] = [];
      for (let round = 0; round < roundCount; round++) {
        await clear();
        rounds.push(await interleavedRound(MODES, load.chunks, round, chunk));
      }
      report(`typeorm ${label}: ${load.name}`, `plain ${fmt(rateOf(rounds, "plain"))} rows/s (${roundCount} rounds × ${load.chunks} chunks)`);
      report(`  no-op subscriber of Koper's shape (floor)`, `${fmt(rateOf(rounds, "floor"))} rows/s, ${ratiosOf(rounds, "floor", "plain")}`);
      report(`  with koper (capture + publish)`, `${fmt(rateOf(rounds, "publish"))} rows/s, ${ratiosOf(rounds, "publish", "plain")}`);
      report(`  with koper + in-process listener`, `${fmt(rateOf(rounds, "listener"))} rows/s, ${ratiosOf(rounds, "listener", "plain")}`);
    }
    report(`typeorm ${label}`, `after: ${conditions()}`);
  } finally {
    await Promise.all([publisher.stop(), consumer.stop()]);
    await sources.plain.query(`DROP TABLE ${sources.plain.driver.escape(table)}`);
    for (const mode of MODES) await sources[mode].destroy();
  }
  if (handled === 0) throw new Error("the benchmark's listener received no event: the koper rounds measured nothing");
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, "127.0.0.1", () => done(true));
  });
}
