import { runAdapterContract } from "../contract/runAdapterContract.ts";
import { database } from "./databases.ts";
import { typeormHarness } from "./harness.ts";
import { runTypeormLifecycle } from "./typeorm-lifecycle.ts";
import { runTypeormColumns } from "./typeorm-columns.ts";
import { runTypeormWrites } from "./typeorm-writes.ts";

const db = await database("sqlite");
runAdapterContract("typeorm/sqlite", typeormHarness(db), { skip: db.skip });
runTypeormWrites(db);
runTypeormColumns(db);
runTypeormLifecycle(db);
