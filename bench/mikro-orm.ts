// MikroORM flush throughput with @koper/mikro-orm attached vs plain MikroORM, on SQLite
// (node:sqlite, in memory) and PostgreSQL. Each mode has its own ORM instance on the same
// database (MikroORM cannot unregister a subscriber), and rounds rotate which mode goes first,
// so drift (table growth, JIT, GC, other load on the machine) falls on every mode alike.
import { Socket } from "node:net";
import { Koper, dataListener } from "@koper/core";
import { koperMikroOrm } from "@koper/mikro-orm";
import { EntitySchema, MikroORM, type Options } from "@mikro-orm/core";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { NodeSqliteDialect, SqliteDriver } from "@mikro-orm/sql";
import { median } from "./stats.ts";
import { fmt, report } from "./support.ts";

const id = Math.random().toString(36).slice(2, 8);

// A class per ORM instance: MikroORM keeps an entity's metadata on its class.
function model() {
  class Order {
    id!: number;
    number!: string;
    qty!: number;
    note!: string;
  }
  const schema = new EntitySchema({
    class: Order,
    tableName: `bench_order_${id}`,
    properties: {
      id: { type: "integer", primary: true, autoincrement: true },
      number: { type: "string", length: 40 },
      qty: { type: "integer" },
      note: { type: "string", length: 200 },
    },
  });
  return { Order, schema };
}

type Model = ReturnType<typeof model>;

interface Workload {
  name: string;
  rowsPerRound: number;
  run(orm: MikroORM, Order: Model["Order"], round: number): Promise<void>;
}

const values = (n: number) => ({ number: `B-${n}`, qty: n % 7, note: "bench ".repeat(20) });

function workloads(singles: number, batches: number): Workload[] {
  return [
    {
      name: "1-entity flushes",
      rowsPerRound: singles,
      run: async (orm, Order, round) => {
        for (let i = 0; i < singles; i++) {
          const em = orm.em.fork();
          em.create(Order, values(round * singles + i));
          await em.flush();
        }
      },
    },
    {
      name: "100-entity flushes",
      rowsPerRound: batches * 100,
      run: async (orm, Order, round) => {
        for (let b = 0; b < batches; b++) {
          const em = orm.em.fork();
          for (let i = 0; i < 100; i++) em.create(Order, values(round * 1e6 + b * 100 + i));
          await em.flush();
        }
      },
    },
  ];
}

/** Runs the MikroORM benchmark and prints rows/s with and without Koper, and their ratio. */
export async function runMikroOrmBench(): Promise<void> {
  const sqlite = { driver: SqliteDriver, dbName: ":memory:" };
  await benchOn("sqlite (node:sqlite)", () => ({ ...sqlite, driverOptions: new NodeSqliteDialect(":memory:") }), workloads(400, 4), 12, false);
  if (await reachable(5432)) {
    const pg = { driver: PostgreSqlDriver, host: "127.0.0.1", port: 5432, user: "postgres", password: "", dbName: "test", schema: `bench_${id}` };
    await benchOn("postgres", () => pg, workloads(300, 4), 9, true);
  } else {
    console.warn("  ⚠️  postgres not reachable on 127.0.0.1:5432: its MikroORM rounds are skipped");
  }
}

type Mode = "plain" | "publish" | "listener";
const MODES: Mode[] = ["plain", "publish", "listener"];

async function benchOn(label: string, options: () => Partial<Options>, loads: Workload[], rounds: number, shared: boolean): Promise<void> {
  // "publish": Koper captures and publishes (consumers elsewhere, as with Kafka).
  // "listener": a listener in this same process also receives every event, on the same CPU.
  const publisher = new Koper();
  const consumer = new Koper();
  let handled = 0;
  consumer.register(dataListener()({ entity: "Order", onInsertOrder: () => void handled++ }));
  await Promise.all([publisher.start(), consumer.start()]);
  const orms = {} as Record<Mode, MikroORM>;
  const models = {} as Record<Mode, Model>;
  for (const mode of MODES) {
    models[mode] = model();
    orms[mode] = await MikroORM.init({ ...options(), entities: [models[mode].schema], debug: false } as Options);
  }
  const schema = orms.plain.config.get("schema");
  const table = (schema ? `"${schema}".` : "") + `"bench_order_${id}"`;
  if (schema) await orms.plain.em.getConnection().execute(`create schema "${schema}"`);
  for (const mode of shared ? (["plain"] as Mode[]) : MODES) await orms[mode].schema.create(schema ? { schema } : {});
  koperMikroOrm(orms.publish, publisher);
  koperMikroOrm(orms.listener, consumer);
  try {
    for (const load of loads) {
      for (const mode of [...MODES, ...MODES]) await measure(orms[mode], models[mode], table, load, -1); // warm-up, unmeasured
      const rates: Record<Mode, number[]> = { plain: [], publish: [], listener: [] };
      const ratios: Record<Mode, number[]> = { plain: [], publish: [], listener: [] };
      for (let round = 0; round < rounds; round++) {
        const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
        const rate = {} as Record<Mode, number>;
        for (const mode of order) rates[mode].push((rate[mode] = await measure(orms[mode], models[mode], table, load, round)));
        for (const mode of MODES) ratios[mode].push(rate[mode] / rate.plain);
      }
      report(`mikro-orm ${label}: ${load.name}`, `plain ${fmt(median(rates.plain))} rows/s`);
      report(`  with koper (capture + publish)`, `${fmt(median(rates.publish))} rows/s, ratio ${fmt(median(ratios.publish), 2)}`);
      report(`  with koper + in-process listener`, `${fmt(median(rates.listener))} rows/s, ratio ${fmt(median(ratios.listener), 2)}`);
    }
  } finally {
    await Promise.all([publisher.stop(), consumer.stop()]);
    if (schema) await orms.plain.em.getConnection().execute(`drop schema "${schema}" cascade`);
    for (const mode of MODES) await orms[mode].close(true);
  }
  if (handled === 0) throw new Error("the benchmark's listener received no event: the koper rounds measured nothing");
}

// One round: rows per second of `load` on one ORM. Raw SQL empties the table: it publishes nothing.
async function measure(orm: MikroORM, { Order }: Model, table: string, load: Workload, round: number): Promise<number> {
  await orm.em.getConnection().execute(`delete from ${table}`);
  const started = performance.now();
  await load.run(orm, Order, round);
  return load.rowsPerRound / ((performance.now() - started) / 1000);
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
