import { prismaDatabase } from "./databases.ts";
import { runPrismaApp } from "./prisma-app.ts";
import { runPrismaAppValues } from "./prisma-app-values.ts";

const db = await prismaDatabase("mariadb");
runPrismaApp(db);
runPrismaAppValues(db);
