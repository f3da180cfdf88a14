import { runAdapterContract } from "../contract/runAdapterContract.ts";
import { prismaDatabase } from "./databases.ts";
import { prismaHarness, PRISMA_SKIPS } from "./harness.ts";

const db = await prismaDatabase("mariadb");
runAdapterContract("prisma/mariadb", prismaHarness(db), { skip: db.skip, skipTests: PRISMA_SKIPS });
