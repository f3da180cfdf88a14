// Prisma's half of `npm run bench -- audit`: write throughput with audit on vs off on PostgreSQL,
// 100-row interactive transactions, Koper attached on both sides (two clients on schemas of their
// own), rounds alternating which side goes first; printed as the ratio of the medians.
import { ensureAuditTable, Koper } from "@koper/core";
import { koperPrisma, sqlClientOf } from "@koper/prisma";
import { ensurePrismaClients } from "../test/support/prisma-generate.ts";
import { median } from "./stats.ts";
import { fmt, report } from "./support.ts";

type Client = import("../test/prisma/databases.ts").Client;

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
  const rates = { off: [] as number[], on: [] as number[] };
  let n = 0;
  const round = async (client: Client) => {
    const t = performance.now();
    for (let tx = 0; tx < 3; tx++) {
      await client.$transaction(async (m) => {
        for (let i = 0; i < 100; i++) await m.order.create({ data: { number: `A-${n++}`, qty: i, note: "bench ".repeat(20) } });
      }, { timeout: 60_000 });
    }
    return 300 / ((performance.now() - t) / 1000);
  };
  try {
    for (const side of ["off", "on"] as const) await round(clients[side]); // warm-up, unmeasured
    for (let r = 0; r < 8; r++) {
      for (const side of r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) rates[side].push(await round(clients[side]));
    }
    const [off, on] = [median(rates.off), median(rates.on)];
    report("Prisma 100-row transactions, Koper without audit", `${fmt(off)} rows/s`);
    report("Prisma 100-row transactions, Koper with audit", `${fmt(on)} rows/s`);
    report("ratio audit on / off", fmt(on / off, 2));
  } finally {
    await Promise.all([kopers.off.stop(), kopers.on.stop()]);
    await Promise.all([opened.off.drop(), opened.on.drop()]);
  }
}
