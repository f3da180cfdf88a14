import { runAdapterContract } from "../contract/runAdapterContract.ts";
import { database } from "./databases.ts";
import { mikroHarness } from "./harness.ts";
import { runMikroLifecycle } from "./mikro-lifecycle.ts";
import { runMikroWrites } from "./mikro-writes.ts";

const db = await database("mariadb");
runAdapterContract("mikro-orm/mariadb", mikroHarness(db), { skip: db.skip });
runMikroWrites(db);
runMikroLifecycle(db);
