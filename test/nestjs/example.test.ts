import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

it("examples/nestjs serves orders over HTTP, texts each committed one with its user, and reports the refused one", async () => {
  const { stdout } = await run(process.execPath, ["--conditions=koper-source", "--import", "tsx", "examples/nestjs/main.ts", "--demo"], {
    cwd: new URL("../../", import.meta.url).pathname,
    timeout: 60_000,
  }); // rejects on a non-zero exit code
  const lines = stdout.trim().split("\n").filter((line) => !line.includes("[Nest]")).sort(); // Nest logs warnings to stdout
  expect(lines).toEqual([
    "SMS to 13800000000: order A-1 received (placed by alice, request req-A-1)",
    "SMS to 13800000000: order B-1 received (placed by bob, request req-B-1)",
    "refused A-1: unique_violation",
  ]);
}, 90_000);
