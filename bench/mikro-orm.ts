// MikroORM flush throughput with @koper/mikro-orm attached vs plain MikroORM, on SQLite
// (node:sqlite, in memory) and PostgreSQL. Each mode has its own ORM instance on the same
// database (MikroORM cannot unregister a subscriber). The modes take turns chunk by chunk (a few
// flushes each, the order rotating: bench/interleave.ts), so drift and other load on the machine
// fall on every mode alike; wall and CPU ratios are medians of the per-round ratios.
import { Socket } from "node:net";
import { Koper, dataListener } from "@koper/core";
import { koperMikroOrm } from "@koper/mikro-orm";
import { EntitySchema, MikroORM, type EventSubscriber, type Options } from "@mikro-orm/core";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { NodeSqliteDialect, SqliteDriver } from "@mikro-orm/sql";
import { conditions, interleavedRound, rateOf, ratiosOf, type Tally } from "./interleave.ts";
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
  /** Chunks per mode per round. */
  chunks: number;
  /** One chunk: a few flushes; returns the rows written. */
  chunk(orm: MikroORM, Order: Model["Order"], n: number): Promise<number>;
}

const values = (n: number) => ({ number: `B-${n}`, qty: n % 7, note: "bench ".repeat(20) });

function workloads(singleChunks: number, batchChunks: number): Workload[] {
  return [
    {
      name: "1-entity flushes",
      chunks: singleChunks,
      chunk: async (orm, Order, n) => {
        for (let i = 0; i < 10; i++) {
          const em = orm.em.fork();
          em.create(Order, values(n + i));
          await em.flush();
        }
        return 10;
      },
    },
    {
      name: "100-entity flushes",
      chunks: batchChunks,
      chunk: async (orm, Order, n) => {
        const em = orm.em.fork();
        for (let i = 0; i < 100; i++) em.create(Order, values(n + i));
        await em.flush();
        return 100;
      },
    },
  ];
}

/** Runs the MikroORM benchmark and prints rows/s with and without Koper, and their ratio. */
export async function runMikroOrmBench(): Promise<void> {
  const sqlite = { driver: SqliteDriver, dbName: ":memory:" };
  await benchOn("sqlite (node:sqlite)", () => ({ ...sqlite, driverOptions: new NodeSqliteDialect(":memory:") }), workloads(8, 4), 15, false);
  if (await reachable(5432)) {
    const pg = { driver: PostgreSqlDriver, host: "127.0.0.1", port: 5432, user: "postgres", password: "", dbName: "test", schema: `bench_${id}` };
    await benchOn("postgres", () => pg, workloads(6, 3), 11, true);
  } else {
    console.warn("  ⚠️  postgres not reachable on 127.0.0.1:5432: its MikroORM rounds are skipped");
  }
}

type Mode = "plain" | "floor" | "publish" | "listener";
const MODES: Mode[] = ["plain", "floor", "publish", "listener"];

/**
 * The floor: a subscriber with the hooks Koper's has, each doing nothing. What MikroORM itself
 * spends dispatching them (event args, a serial run per hook) is paid by any subscriber-based
 * plugin, so "floor / plain" is the best ratio a subscriber can reach.
 */
class NoopSubscriber implements EventSubscriber {
  beforeTransactionStart(): void {}
  afterTransactionStart(): void {}
  beforeTransactionCommit(): void {}
  afterTransactionCommit(): void {}
  afterTransactionRollback(): void {}
  afterCreate(): void {}
  afterUpdate(): void {}
  afterDelete(): void {}
}

async function benchOn(label: string, options: () => Partial<Options>, loads: Workload[], roundCount: number, shared: boolean): Promise<void> {
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
  orms.floor.em.getEventManager().registerSubscriber(new NoopSubscriber());
  koperMikroOrm(orms.publish, publisher);
  koperMikroOrm(orms.listener, consumer);
  const clear = () => Promise.all((shared ? (["plain"] as Mode[]) : MODES).map((mode) => orms[mode].em.getConnection().execute(`delete from ${table}`)));
  try {
    report(`mikro-orm ${label}`, conditions());
    for (const load of loads) {
      let n = 0;
      const chunk = (mode: Mode) => load.chunk(orms[mode], models[mode].Order, (n += 1000));
      await interleavedRound(MODES, 2, 0, chunk); // warm-up, unmeasured
      const rounds: Record<Mode, Tally>[] = [];
      for (let round = 0; round < roundCount; round++) {
        await clear(); // raw SQL: it publishes nothing
        rounds.push(await interleavedRound(MODES, load.chunks, round, chunk));
      }
      report(`mikro-orm ${label}: ${load.name}`, `plain ${fmt(rateOf(rounds, "plain"))} rows/s (${roundCount} rounds × ${load.chunks} chunks)`);
      report(`  no-op subscriber of Koper's shape (floor)`, `${fmt(rateOf(rounds, "floor"))} rows/s, ${ratiosOf(rounds, "floor", "plain")}`);
      report(`  with koper (capture + publish)`, `${fmt(rateOf(rounds, "publish"))} rows/s, ${ratiosOf(rounds, "publish", "plain")}`);
      report(`  with koper + in-process listener`, `${fmt(rateOf(rounds, "listener"))} rows/s, ${ratiosOf(rounds, "listener", "plain")}`);
    }
    report(`mikro-orm ${label}`, `after: ${conditions()}`);
  } finally {
    await Promise.all([publisher.stop(), consumer.stop()]);
    if (schema) await orms.plain.em.getConnection().execute(`drop schema "${schema}" cascade`);
    for (const mode of MODES) await orms[mode].close(true);
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
