import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Every committed Prisma schema whose client the tests, the example and the bench import. */
export const PRISMA_SCHEMAS = ["test/prisma/sqlite", "test/prisma/postgres", "test/prisma/mariadb", "examples/prisma-quickstart"].map(
  (dir) => join(ROOT, dir, "schema.prisma"),
);

/**
 * Generates the Prisma clients (into `generated/` beside each schema, never committed) when the
 * schema or Prisma's version changed since the last run: a fresh clone needs only `npm install`.
 * `prisma generate` needs no engine, but Prisma 7 downloads its schema engine before any command
 * unless PRISMA_SCHEMA_ENGINE_BINARY names an existing file: the schema file itself serves.
 */
export function ensurePrismaClients(): void {
  const require = createRequire(import.meta.url);
  const cli = require.resolve("prisma/build/index.js");
  const version = (JSON.parse(readFileSync(join(dirname(cli), "..", "package.json"), "utf8")) as { version: string }).version;
  for (const schema of PRISMA_SCHEMAS) {
    const stamp = join(dirname(schema), "generated", ".koper-stamp");
    const hash = createHash("sha256").update(version).update(readFileSync(schema)).digest("hex");
    if (existsSync(stamp) && readFileSync(stamp, "utf8") === hash) continue;
    execFileSync(process.execPath, [cli, "generate", "--schema", schema], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: schema, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    });
    writeFileSync(stamp, hash);
  }
}

/** vitest globalSetup: the clients exist before any test file imports one. */
export default function setup(): void {
  ensurePrismaClients();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) ensurePrismaClients();
