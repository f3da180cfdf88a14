import { dbOptions } from "./harness.ts";
import { nestAppSuite } from "./nestjs-app.ts";

nestAppSuite("PostgreSQL", () => dbOptions("postgres"));
