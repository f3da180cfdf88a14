#!/usr/bin/env node
import { run } from "./run.ts";

// The `koper` command: `npx koper audit history Customer 7 --url postgres://…`.
// No top-level await: the CommonJS build of this package cannot express it.
void run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: () => Date.now(),
  color: process.stdout.isTTY === true && !("NO_COLOR" in process.env),
  env: process.env,
}).then((status) => {
  process.exitCode = status;
});
