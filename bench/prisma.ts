// Prisma write throughput with @koper/prisma vs the plain client, on SQLite (libSQL) and PostgreSQL.
// Four clients on one database: plain; "floor", an extension of Koper's own shape that does nothing
// (one $extends from a function, a pass-through hook on each write operation Koper hooks, a
// pass-through $transaction: what an extension of this shape costs in Prisma itself); Koper with
// captureBefore off; Koper with captureBefore on. Koper publishes to the in-process transport with
// no listener in this process (consumers elsewhere, as with Kafka).
// The machine is shared: the clients take turns chunk by chunk (a few writes each, the order
// rotating: bench/interleave.ts), so a burst of other load falls on all of them alike; each round's
// ratio is rows/s (and CPU per row) of a client over plain's in that round, and the median round
// is printed with the quartiles.
import { Koper } from "@koper/core";
import { koperPrisma } from "@koper/prisma";
import { Extensions } from "@prisma/client/runtime/client";
// The operations Koper's extension hooks, so that the floor hooks the same ones.
import { CLIENT_WRITES, MODEL_WRITES } from "../packages/prisma/src/PrismaCapture.ts";
import { ensurePrismaClients } from "../test/support/prisma-generate.ts";
import { conditions, interleavedRound, rateOf, ratiosOf, type Tally } from "./interleave.ts";
import { fmt, report } from "./support.ts";

type Databases = typeof import("../test/prisma/databases.ts");
type Client = import("../test/prisma/databases.ts").Client;

type Mode = "plain" | "floor" | "koper" | "before";
const MODES: Mode[] = ["plain", "floor", "koper", "before"];

interface Workload {
  name: string;
  /** Rows one chunk writes. */
  rows: number;
  chunk(client: Client, n: number, target: number): Promise<void>;
}

const row = (n: number) => ({ number: `B-${n}`, qty: Math.abs(n) % 7, note: "bench ".repeat(20) });

const WORKLOADS: Workload[] = [
  {
    name: "create() of single rows",
    rows: 10,
    chunk: async (client, n) => {
      for (let i = 0; i < 10; i++) await client.order.create({ data: row(n + i) });
    },
  },
  {
    name: "update() of single rows",
    rows: 10,
    chunk: async (client, n, target) => {
      for (let i = 0; i < 10; i++) await client.order.update({ where: { id: target }, data: { qty: (n + i) % 7 } });
    },
  },
  {
    name: "100-row interactive transactions (create + update each)",
    rows: 100,
    chunk: async (client, n) => {
      await client.$transaction(async (tx) => {
        for (let i = 0; i < 100; i++) {
          const { id } = await tx.order.create({ data: row(n + i) });
          await tx.order.update({ where: { id }, data: { qty: i % 7 } });
        }
      }, { timeout: 60_000 });
    },
  },
];

/** Runs the Prisma benchmark and prints rows/s with and without Koper, and their ratios. */
export async function runPrismaBench(): Promise<void> {
  ensurePrismaClients();
  const databases: Databases = await import("../test/prisma/databases.ts");
  await benchOn(databases, "sqlite", { rounds: 15, chunks: [12, 12, 2] });
  const pg = await databases.prismaDatabase("postgres");
  if (pg.skip) console.warn(`  ⚠️  ${pg.skip}: the Prisma PostgreSQL rounds are skipped`);
  else await benchOn(databases, "postgres", { rounds: 13, chunks: [10, 10, 2] });
}

async function benchOn(databases: Databases, name: "sqlite" | "postgres", size: { rounds: number; chunks: number[] }): Promise<void> {
  const opened = await (await databases.prismaDatabase(name)).open();
  // WAL, as SQLite applications run it: otherwise every autocommit write waits for an fsync.
  if (name === "sqlite") await opened.client.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  const koper = new Koper();
  let published = 0;
  koper.on("published", (event) => void (published += event.payload.ids.length));
  await koper.start();
  const clients = makeClients(opened.client, koper);
  try {
    report(`prisma ${name}`, conditions());
    for (const [w, load] of WORKLOADS.entries()) {
      await round(opened.client, clients, load, 1, 0); // warm-up, unmeasured
      const rounds: Record<Mode, Tally>[] = [];
      for (let r = 0; r < size.rounds; r++) rounds.push(await round(opened.client, clients, load, size.chunks[w]!, r));
      report(`prisma ${name}: ${load.name}`, `plain ${fmt(rateOf(rounds, "plain"))} rows/s (${size.rounds} rounds × ${size.chunks[w]} chunks)`);
      report(`  empty extension of Koper's shape (floor)`, `${fmt(rateOf(rounds, "floor"))} rows/s, ${ratiosOf(rounds, "floor", "plain")}`);
      report(`  with koper (captureBefore off)`, `${fmt(rateOf(rounds, "koper"))} rows/s, ${ratiosOf(rounds, "koper", "plain")}`);
      report(`  with koper (captureBefore on)`, `${fmt(rateOf(rounds, "before"))} rows/s, ${ratiosOf(rounds, "before", "plain")}`);
    }
    report(`prisma ${name}`, `after: ${conditions()}`);
  } finally {
    await koper.stop();
    await opened.drop();
  }
  if (published === 0) throw new Error("Koper published no event: the koper rounds measured nothing");
}

function makeClients(plain: Client, koper: Koper): Record<Mode, Client> {
  return {
    plain,
    floor: plain.$extends(emptyExtension() as never) as unknown as Client,
    koper: plain.$extends(koperPrisma(koper)) as unknown as Client,
    before: plain.$extends(koperPrisma(koper, { captureBefore: true })) as unknown as Client,
  };
}

// koperPrisma's shape with nothing in it: a function extension whose one $extends hooks the write
// operations and overrides $transaction, each passing straight through.
function emptyExtension(): unknown {
  return Extensions.defineExtension((client: { $extends: (extension: unknown) => unknown }) => {
    const base = client as unknown as { $transaction: (this: unknown, ...args: unknown[]) => Promise<unknown> };
    const original = base.$transaction;
    const hook = ({ args, query }: { args: unknown; query: (args: unknown) => Promise<unknown> }) => query(args);
    return client.$extends({
      name: "floor",
      query: { $allModels: Object.fromEntries(MODEL_WRITES.map((operation) => [operation, hook])), ...Object.fromEntries(CLIENT_WRITES.map((operation) => [operation, hook])) },
      client: {
        $transaction(this: unknown, ...args: unknown[]) {
          return original.call(Extensions.getExtensionContext(this), ...args);
        },
      },
    });
  });
}

// One round on an emptied table: every client runs `chunks` chunks, taking turns.
async function round(base: Client, clients: Record<Mode, Client>, load: Workload, chunks: number, r: number): Promise<Record<Mode, Tally>> {
  await base.order.deleteMany();
  const target = (await base.order.create({ data: row(-1 - r * 1e7) })).id;
  let n = (r + 2) * 1e7;
  return interleavedRound(MODES, chunks, r, async (mode) => {
    await load.chunk(clients[mode], (n += 1000), target);
    return load.rows;
  });
}
