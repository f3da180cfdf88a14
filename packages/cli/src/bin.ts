#!/usr/bin/env node
import { run } from "./run.ts";

// The `koper` command: `npx koper audit history Customer 7 --url postgres://…`.
const status = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: () => Date.now(),
  color: process.stdout.isTTY === true && !("NO_COLOR" in process.env),
  env: process.env,
});
process.exitCode = status;
