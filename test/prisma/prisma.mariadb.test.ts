import { runAdapterContract } from "../contract/runAdapterContract.ts";
import { prismaDatabase } from "./databases.ts";
import { prismaHarness } from "./harness.ts";

const db = await prismaDatabase("mariadb");
runAdapterContract("prisma/mariadb", prismaHarness(db), { skip: db.skip });
