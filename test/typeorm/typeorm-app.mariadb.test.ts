import { database } from "./databases.ts";
import { runTypeormAppRows } from "./typeorm-app-rows.ts";
import { runTypeormAppWrites } from "./typeorm-app-writes.ts";

// An application-shaped model through every TypeORM write a demanding user makes, in a database of its own per suite.
const db = await database("mariadb");
runTypeormAppRows(db);
runTypeormAppWrites(db);
