import { runAdapterContract } from "../contract/runAdapterContract.ts";
import { database } from "./databases.ts";
import { typeormHarness } from "./harness.ts";
import { runTypeormLifecycle } from "./typeorm-lifecycle.ts";
import { runTypeormColumns } from "./typeorm-columns.ts";
import { runTypeormWrites } from "./typeorm-writes.ts";

// The same suites on TypeORM 0.3.x (devDependency typeorm-0.3, an npm alias), which most applications still use.
const db = await database("sqlite", "0.3");
runAdapterContract("typeorm 0.3/sqlite", typeormHarness(db), { skip: db.skip });
runTypeormWrites(db);
runTypeormColumns(db);
runTypeormLifecycle(db);
