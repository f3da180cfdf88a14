import { dbOptions } from "./harness.ts";
import { nestAppSuite } from "./nestjs-app.ts";

nestAppSuite("sql.js", () => dbOptions("sqlite"));
