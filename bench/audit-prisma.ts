// Prisma's half of `npm run bench -- audit`: write throughput with audit on vs off on PostgreSQL,
// 100-row interactive transactions, Koper attached on both sides (two clients on schemas of their
// own), taking turns transaction by transaction (bench/interleave.ts); also `auditRounds`, the
// measurement every ORM's half uses.
import { ensureAuditTable, Koper } from "@koper/core";
import { koperPrisma, sqlClientOf } from "@koper/prisma";
import { ensurePrismaClients } from "../test/support/prisma-generate.ts";
import { conditions, interleavedRound, rateOf, ratiosOf, type Tally } from "./interleave.ts";
import { fmt, report } from "./support.ts";

type Client = import("../test/prisma/databases.ts").Client;

const SIDES = ["off", "on"] as const;
type Side = (typeof SIDES)[number];

/**
 * Audit off vs on for one ORM: `transaction(side, n)` writes one 100-row transaction (n unique per
 * call) and returns its row count; rounds of 3 transactions per side, taking turns, after a warm-up
 * round; reports both rates and the ratios (wall and this process's CPU per row) with their spread.
 */
export async function auditRounds(label: string, transaction: (side: Side, n: number) => Promise<number>): Promise<void> {
  let n = 0;
  const chunk = (side: Side) => transaction(side, n++);
  await interleavedRound(SIDES, 1, 0, chunk); // warm-up, unmeasured
  const rounds: Record<Side, Tally>[] = [];
  for (let round = 0; round < 8; round++) rounds.push(await interleavedRound(SIDES, 3, round, chunk));
  report(`${label}, Koper without audit`, `${fmt(rateOf(rounds, "off"))} rows/s`);
  report(`${label}, Koper with audit`, `${fmt(rateOf(rounds, "on"))} rows/s`);
  report("audit on / off", `${ratiosOf(rounds, "on", "off")} (${conditions()})`);
}

/** Runs the Prisma audit write benchmark (PostgreSQL must be reachable: the caller checked). */
export async function prismaAuditWriteBench(): Promise<void> {
  ensurePrismaClients();
  const { prismaDatabase } = await import("../test/prisma/databases.ts");
  const db = await prismaDatabase("postgres");
  const opened = { off: await db.open(), on: await db.open() };
  const kopers = { off: new Koper(), on: new Koper() };
  await ensureAuditTable(sqlClientOf(opened.on.client, "postgresql"));
  const clients = {
    off: opened.off.client.$extends(koperPrisma(kopers.off)) as unknown as Client,
    on: opened.on.client.$extends(koperPrisma(kopers.on, { audit: true })) as unknown as Client,
  };
  await Promise.all([kopers.off.start(), kopers.on.start()]);
  try {
    await auditRounds("Prisma 100-row transactions", async (side, n) => {
      await clients[side].$transaction(async (m) => {
        for (let i = 0; i < 100; i++) await m.order.create({ data: { number: `A-${side}-${n}-${i}`, qty: i, note: "bench ".repeat(20) } });
      }, { timeout: 60_000 });
      return 100;
    });
  } finally {
    await Promise.all([kopers.off.stop(), kopers.on.stop()]);
    await Promise.all([opened.off.drop(), opened.on.drop()]);
  }
}
