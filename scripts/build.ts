// `npm run build`: every package under packages/*, dependencies first (a CommonJS build resolves
// `@koper/core` through core's built dist/cjs, so core must be built before its dependents).
import { buildAll } from "./workspace.ts";

buildAll();
