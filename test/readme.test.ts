import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const snippets = join(root, "examples", "snippets");
const readme = readFileSync(join(root, "README.md"), "utf8");

// README shows these files verbatim; running them here keeps README true.
describe.each(readdirSync(snippets).filter((f) => f.endsWith(".ts")))("README snippet %s", (file) => {
  const source = readFileSync(join(snippets, file), "utf8").trim();

  it("is in README.md word for word", () => {
    expect(readme).toContain(source);
  });

  it("runs and prints what README says", async () => {
    const { stdout } = await run(process.execPath, ["--conditions=koper-source", "--import", "tsx", join(snippets, file)], {
      cwd: root,
    });
    const expected = readFileSync(join(snippets, file.replace(/\.ts$/, ".out")), "utf8");
    // Events of different keys may be handled in any order: compare the lines as sets.
    expect(stdout.trim().split("\n").sort()).toEqual(expected.trim().split("\n").sort());
  });
});
