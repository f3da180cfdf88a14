// TypeORM write throughput with @koper/typeorm attached vs plain TypeORM, on sql.js and PostgreSQL.
// Rounds alternate (plain, koper, koper, plain, …) on the same DataSource and table, so drift
// (table growth, JIT, GC, other load on the machine) falls on both sides alike.
import "reflect-metadata";
import { Socket } from "node:net";
import { Koper, dataListener } from "@koper/core";
import { koperTypeorm, type KoperTypeormHandle } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryGeneratedColumn, type DataSourceOptions } from "typeorm";
import { median } from "./stats.ts";
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
  rowsPerRound: number;
  run(dataSource: DataSource, round: number): Promise<void>;
}

const order = (n: number) => Object.assign(new Order(), { number: `B-${n}`, qty: n % 7, note: "bench ".repeat(20) });

function workloads(singles: number, transactions: number): Workload[] {
  return [
    {
      name: "save() of single rows",
      rowsPerRound: singles,
      run: async (dataSource, round) => {
        const repo = dataSource.getRepository(Order);
        for (let i = 0; i < singles; i++) await repo.save(order(round * singles + i));
      },
    },
    {
      name: "100-row transactions",
      rowsPerRound: transactions * 100,
      run: async (dataSource, round) => {
        for (let t = 0; t < transactions; t++) {
          await dataSource.transaction(async (manager) => {
            for (let i = 0; i < 100; i++) await manager.save(order(round * 1e6 + t * 100 + i));
          });
        }
      },
    },
  ];
}

/** Runs the TypeORM benchmark and prints rows/s with and without Koper, and their ratio. */
export async function runTypeormBench(): Promise<void> {
  await benchOn("sqlite (sql.js)", { type: "sqljs" }, workloads(400, 4), 12);
  if (await reachable(5432)) {
    const pg: DataSourceOptions = { type: "postgres", host: "127.0.0.1", port: 5432, username: "postgres", password: "", database: "test" };
    await benchOn("postgres", pg, workloads(300, 4), 9);
  } else {
    console.warn("  ⚠️  postgres not reachable on 127.0.0.1:5432: its TypeORM rounds are skipped");
  }
}

type Mode = "plain" | "publish" | "listener";
const MODES: Mode[] = ["plain", "publish", "listener"];

async function benchOn(label: string, options: DataSourceOptions, loads: Workload[], rounds: number): Promise<void> {
  const dataSource = new DataSource({ ...options, entities: [Order], synchronize: true, logging: false });
  await dataSource.initialize();
  // "publish": Koper captures and publishes (consumers elsewhere, as with Kafka).
  // "listener": a listener in this same process also receives every event, on the same CPU.
  const publisher = new Koper();
  const consumer = new Koper();
  let handled = 0;
  consumer.register(dataListener()({ entity: "Order", onInsertOrder: () => void handled++ }));
  await Promise.all([publisher.start(), consumer.start()]);
  const kopers = { plain: undefined, publish: publisher, listener: consumer };
  try {
    for (const load of loads) {
      for (const mode of [...MODES, ...MODES]) await measure(dataSource, kopers[mode], load, -1); // warm-up, unmeasured
      const rates: Record<Mode, number[]> = { plain: [], publish: [], listener: [] };
      const ratios: Record<Mode, number[]> = { plain: [], publish: [], listener: [] };
      // CPU of this process per row: steadier than wall time on a loaded machine (without the database server's own).
      const cpus: Record<Mode, number[]> = { plain: [], publish: [], listener: [] };
      for (let round = 0; round < rounds; round++) {
        // Rotate which mode goes first, so drift falls on every mode alike.
        const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
        const rate = {} as Record<Mode, number>;
        const cpu = {} as Record<Mode, number>;
        for (const mode of order) {
          const run = await measure(dataSource, kopers[mode], load, round);
          rates[mode].push((rate[mode] = run.rate));
          cpu[mode] = run.cpu;
        }
        for (const mode of MODES) {
          ratios[mode].push(rate[mode] / rate.plain);
          cpus[mode].push(cpu.plain / cpu[mode]);
        }
      }
      const cpuRatio = (mode: Mode) => `, CPU ratio ${fmt(median(cpus[mode]), 2)}`;
      report(`typeorm ${label}: ${load.name}`, `plain ${fmt(median(rates.plain))} rows/s`);
      report(`  with koper (capture + publish)`, `${fmt(median(rates.publish))} rows/s, ratio ${fmt(median(ratios.publish), 2)}${cpuRatio("publish")}`);
      report(`  with koper + in-process listener`, `${fmt(median(rates.listener))} rows/s, ratio ${fmt(median(ratios.listener), 2)}${cpuRatio("listener")}`);
    }
  } finally {
    await Promise.all([publisher.stop(), consumer.stop()]);
    await dataSource.query(`DROP TABLE ${dataSource.driver.escape(table)}`);
    await dataSource.destroy();
  }
  if (handled === 0) throw new Error("the benchmark's listener received no event: the koper rounds measured nothing");
}

// One round: rows per second of `load`, with Koper attached or not.
async function measure(dataSource: DataSource, koper: Koper | undefined, load: Workload, round: number): Promise<{ rate: number; cpu: number }> {
  await dataSource.getRepository(Order).clear();
  const handle: KoperTypeormHandle | undefined = koper ? koperTypeorm(dataSource, koper) : undefined;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await load.run(dataSource, round);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  handle?.detach();
  return { rate: load.rowsPerRound / seconds, cpu: cpu.user + cpu.system };
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
