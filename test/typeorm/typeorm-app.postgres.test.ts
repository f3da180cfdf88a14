import { database } from "./databases.ts";
import { runTypeormAppRows } from "./typeorm-app-rows.ts";
import { runTypeormAppWrites } from "./typeorm-app-writes.ts";

// An application-shaped model through every TypeORM write a demanding user makes, in a schema of its own per suite.
const db = await database("postgres");
runTypeormAppRows(db);
runTypeormAppWrites(db);
