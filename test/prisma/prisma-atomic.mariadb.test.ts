import { prismaDatabase } from "./databases.ts";
import { runPrismaAtomicWrites } from "./prisma-atomic-writes.ts";

runPrismaAtomicWrites(await prismaDatabase("mariadb"));
