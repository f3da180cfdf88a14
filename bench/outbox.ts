// `npm run bench -- outbox`: write throughput in outbox mode vs direct mode vs no plugin, per ORM
// on PostgreSQL (100-row transactions and single writes), as ratios measured side by side (the
// three modes take turns round by round, each on tables of its own); then the relay's drain rate
// to the in-process transport and the commit → handled latency of outbox mode (relay woken on commit).
import "reflect-metadata";
import { ensureOutboxTable, Koper } from "@koper/core";
import type { AdapterHarness, HarnessFactory } from "../test/contract/harness.ts";
import { ensurePrismaClients } from "../test/support/prisma-generate.ts";
import { relayFigures } from "./outbox-relay.ts";
import { median } from "./stats.ts";
import { fmt, report } from "./support.ts";

type Mode = "none" | "direct" | "outbox";
const MODES: Mode[] = ["none", "direct", "outbox"];

async function factories(): Promise<[string, HarnessFactory][]> {
  ensurePrismaClients();
  const typeorm = await import("../test/typeorm/harness.ts");
  const typeormDb = await import("../test/typeorm/databases.ts");
  const mikro = await import("../test/mikro-orm/harness.ts");
  const mikroDb = await import("../test/mikro-orm/databases.ts");
  const prisma = await import("../test/prisma/harness.ts");
  const prismaDb = await import("../test/prisma/databases.ts");
  return [
    ["typeorm", typeorm.typeormHarness(await typeormDb.database("postgres"))],
    ["mikro-orm", mikro.mikroHarness(await mikroDb.database("postgres"))],
    ["prisma", prisma.prismaHarness(await prismaDb.prismaDatabase("postgres"))],
  ];
}

interface Side {
  koper: Koper;
  db: AdapterHarness;
  table: string;
}

async function side(make: HarnessFactory, mode: Mode): Promise<Side> {
  const koper = new Koper();
  const table = `bench_outbox_${Math.random().toString(36).slice(2, 8)}`;
  // The relay does not run during the timed writes: it would still be draining one mode's rows in
  // the next mode's turn (direct mode, which follows outbox mode in every other round, paid for it).
  // Its rate is measured on its own below; each outbox turn is drained, untimed, once it ends.
  const db = await make(koper, mode === "outbox" ? { outbox: { table, relay: false } } : {});
  if (mode === "outbox") await ensureOutboxTable(db.sqlClient, { table });
  if (mode === "none") db.detach();
  await koper.start();
  return { koper, db, table };
}

let n = 0;
const workloads: { name: string; rows: number; run(db: AdapterHarness): Promise<void> }[] = [
  { name: "100-row transactions", rows: 100, run: (db) => db.transaction(async (tx) => { for (let i = 0; i < 100; i++) await tx.insertOrder({ number: `B-${n++}`, qty: 1 }); }) },
  { name: "single writes (autocommit)", rows: 20, run: async (db) => { for (let i = 0; i < 20; i++) await db.insertOrder({ number: `B-${n++}`, qty: 1 }); } },
];

/** Runs the outbox benchmark. */
export async function runOutboxBench(): Promise<void> {
  // `npm run bench -- outbox prisma`: one ORM only.
  const only = process.argv[3];
  for (const [orm, make] of (await factories()).filter(([name]) => !only || name === only)) {
    const sides = {} as Record<Mode, Side>;
    for (const mode of MODES) sides[mode] = await side(make, mode);
    try {
      for (const load of workloads) {
        const ratios: Record<Mode, number[]> = { none: [], direct: [], outbox: [] };
        const rates: Record<Mode, number[]> = { none: [], direct: [], outbox: [] };
        for (let round = 0; round < 7; round++) {
          const rate = {} as Record<Mode, number>;
          for (const mode of round % 2 ? [...MODES].reverse() : MODES) {
            const started = performance.now();
            for (let c = 0; c < 3; c++) await load.run(sides[mode].db);
            rate[mode] = (3 * load.rows) / ((performance.now() - started) / 1000);
            await sides[mode].koper.relay?.drain();
          }
          for (const mode of MODES) {
            rates[mode].push(rate[mode]);
            ratios[mode].push(rate[mode] / rate.none);
          }
        }
        report(`outbox ${orm} postgres: ${load.name}`, `no plugin ${fmt(median(rates.none))} rows/s`);
        report(`  direct mode`, `${fmt(median(rates.direct))} rows/s, ratio ${fmt(median(ratios.direct), 2)}`);
        report(`  outbox mode`, `${fmt(median(rates.outbox))} rows/s, ratio ${fmt(median(ratios.outbox), 2)}`);
      }
    } finally {
      for (const s of Object.values(sides)) {
        await s.koper.stop();
        if (s.table.length && s === sides.outbox) {
          await s.db.sqlClient.query(`DROP TABLE ${s.table}`);
          await s.db.sqlClient.query(`DROP TABLE ${s.table}_lease`);
        }
        await s.db.close();
      }
    }
  }
  await runOutboxRelayBench();
}

/** The relay part alone (`npm run bench -- outbox-relay`): drain rate and commit → handled latency on TypeORM + PostgreSQL. */
export async function runOutboxRelayBench(): Promise<void> {
  const typeorm = await import("../test/typeorm/harness.ts");
  const typeormDb = await import("../test/typeorm/databases.ts");
  await relayFigures(typeorm.typeormHarness(await typeormDb.database("postgres")));
}
