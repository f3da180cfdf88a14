// Prisma write throughput with @koper/prisma vs the plain client, on SQLite (libSQL) and PostgreSQL.
// Three clients on one database: plain, Koper with captureBefore off, Koper with captureBefore on.
// Rounds rotate which goes first, so drift (table growth, JIT, GC, other load) falls on all alike.
import { Koper, dataListener } from "@koper/core";
import { koperPrisma } from "@koper/prisma";
import { ensurePrismaClients } from "../test/support/prisma-generate.ts";
import { median } from "./stats.ts";
import { fmt, report } from "./support.ts";

type Databases = typeof import("../test/prisma/databases.ts");
type Client = import("../test/prisma/databases.ts").Client;

type Mode = "plain" | "koper" | "before";
const MODES: Mode[] = ["plain", "koper", "before"];

interface Workload {
  name: string;
  rowsPerRound: number;
  run(client: Client, round: number): Promise<void>;
}

const row = (n: number) => ({ number: `B-${n}`, qty: Math.abs(n) % 7, note: "bench ".repeat(20) });

function workloads(singles: number, transactions: number): Workload[] {
  return [
    {
      name: "create() of single rows",
      rowsPerRound: singles,
      run: async (client, round) => {
        for (let i = 0; i < singles; i++) await client.order.create({ data: row(round * 1e6 + i) });
      },
    },
    {
      name: "update() of single rows",
      rowsPerRound: singles,
      run: async (client, round) => {
        const { id } = await client.order.create({ data: row(round * 1e6) });
        for (let i = 0; i < singles; i++) await client.order.update({ where: { id }, data: { qty: i } });
      },
    },
    {
      name: "100-row interactive transactions (create + update each)",
      rowsPerRound: transactions * 100,
      run: async (client, round) => {
        for (let t = 0; t < transactions; t++) {
          await client.$transaction(async (tx) => {
            for (let i = 0; i < 100; i++) {
              const { id } = await tx.order.create({ data: row(round * 1e6 + t * 1000 + i) });
              await tx.order.update({ where: { id }, data: { qty: i } });
            }
          }, { timeout: 60_000 });
        }
      },
    },
  ];
}

/** Runs the Prisma benchmark and prints rows/s with and without Koper, and their ratios. */
export async function runPrismaBench(): Promise<void> {
  ensurePrismaClients();
  const databases: Databases = await import("../test/prisma/databases.ts");
  await benchOn(databases, "sqlite", workloads(300, 3), 9);
  const pg = await databases.prismaDatabase("postgres");
  if (pg.skip) console.warn(`  ⚠️  ${pg.skip}: the Prisma PostgreSQL rounds are skipped`);
  else await benchOn(databases, "postgres", workloads(200, 2), 9);
}

async function benchOn(databases: Databases, name: "sqlite" | "postgres", loads: Workload[], rounds: number): Promise<void> {
  const opened = await (await databases.prismaDatabase(name)).open();
  // WAL, as SQLite applications run it: without it every autocommit write waits for an fsync,
  // and the ratio would compare disk waits.
  if (name === "sqlite") await opened.client.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  const koper = new Koper();
  let handled = 0;
  koper.register(dataListener()({ entity: "Order", onInsertOrder: () => void handled++, onUpdateOrder: () => void handled++ }));
  await koper.start();
  const clients: Record<Mode, Client> = {
    plain: opened.client,
    koper: opened.client.$extends(koperPrisma(koper)) as unknown as Client,
    before: opened.client.$extends(koperPrisma(koper, { captureBefore: true })) as unknown as Client,
  };
  try {
    for (const load of loads) {
      for (const mode of MODES) await measure(opened.client, clients[mode], load, -1); // warm-up, unmeasured
      const rates: Record<Mode, number[]> = { plain: [], koper: [], before: [] };
      const ratios: Record<Mode, number[]> = { plain: [], koper: [], before: [] };
      for (let round = 0; round < rounds; round++) {
        const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
        const rate = {} as Record<Mode, number>;
        for (const mode of order) rates[mode].push((rate[mode] = await measure(opened.client, clients[mode], load, round)));
        for (const mode of MODES) ratios[mode].push(rate[mode] / rate.plain);
      }
      report(`prisma ${name}: ${load.name}`, `plain ${fmt(median(rates.plain))} rows/s`);
      report(`  with koper (captureBefore off)`, `${fmt(median(rates.koper))} rows/s, ratio ${fmt(median(ratios.koper), 2)}`);
      report(`  with koper (captureBefore on)`, `${fmt(median(rates.before))} rows/s, ratio ${fmt(median(ratios.before), 2)}`);
    }
  } finally {
    await koper.stop();
    await opened.drop();
  }
  if (handled === 0) throw new Error("the benchmark's listener received no event: the koper rounds measured nothing");
}

// One round: rows per second of `load` through `client`, on an emptied table.
async function measure(base: Client, client: Client, load: Workload, round: number): Promise<number> {
  await base.order.deleteMany();
  const started = performance.now();
  await load.run(client, round);
  return load.rowsPerRound / ((performance.now() - started) / 1000);
}
