// Regression: core and @koper/typeorm wrote to console.error directly (four places) and kafkajs printed
// INFO JSON lines on every connect, so an application could neither silence nor redirect them.
// Libraries now log through the Koper `logger` option; only the broker's CLI (an app) prints.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("regression: console.* in library code", () => {
  it("no package source calls console.* except the kafka-broker CLI and the default logger", () => {
    const allowed = new Set(["packages/kafka-broker/src/cli.ts", "packages/core/src/observability/logger.ts"]);
    const calls = readdirSync(join(ROOT, "packages"))
      .flatMap((dir) => sources(join(ROOT, "packages", dir, "src")))
      .map((file) => relative(ROOT, file))
      .filter((file) => !allowed.has(file))
      .flatMap((file) =>
        readFileSync(join(ROOT, file), "utf8")
          .split("\n")
          .map((line, i) => ({ where: `${file}:${i + 1}`, line: line.trim() }))
          .filter(({ line }) => /\bconsole\.(log|info|warn|error|debug|trace)\(/.test(line) && !line.startsWith("*") && !line.startsWith("//")),
      );
    expect(calls).toEqual([]);
  });
});
