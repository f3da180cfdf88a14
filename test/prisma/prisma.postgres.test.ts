import { runAdapterContract } from "../contract/runAdapterContract.ts";
import { prismaDatabase } from "./databases.ts";
import { prismaHarness, PRISMA_SKIPS } from "./harness.ts";
import { runPrismaFailures } from "./prisma-failures.ts";
import { runPrismaNested } from "./prisma-nested.ts";
import { runPrismaOmit } from "./prisma-omit.ts";
import { runPrismaParentChanges } from "./prisma-parent-changes.ts";
import { runPrismaTransactions } from "./prisma-transactions.ts";
import { runPrismaWrites } from "./prisma-writes.ts";

const db = await prismaDatabase("postgres");
runAdapterContract("prisma/postgres", prismaHarness(db), { skip: db.skip, skipTests: PRISMA_SKIPS });
runPrismaWrites(db);
runPrismaNested(db);
runPrismaParentChanges(db);
runPrismaOmit(db);
runPrismaTransactions(db);
runPrismaFailures(db);
