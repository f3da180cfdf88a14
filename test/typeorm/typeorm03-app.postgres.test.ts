import { database } from "./databases.ts";
import { runTypeormAppRows } from "./typeorm-app-rows.ts";
import { runTypeormAppWrites } from "./typeorm-app-writes.ts";

// The app suites on TypeORM 0.3.x (devDependency typeorm-0.3, an npm alias), which most applications still use.
const db = await database("postgres", "0.3");
runTypeormAppRows(db);
runTypeormAppWrites(db);
