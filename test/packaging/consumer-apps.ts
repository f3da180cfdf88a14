// Helpers of packed-consumers.npm-registry.test.ts: one temp directory outside the workspace whose
// node_modules (installed once from the npm registry and the packed tarballs) every consumer app
// below it shares, and runners for tsc, esbuild and two Node versions.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { PackedPackage, WorkspacePackage } from "../../scripts/workspace.ts";
import { engineFloor } from "../../scripts/conventions.ts";
import { ROOT } from "../../scripts/workspace.ts";

const run = promisify(execFile);

/** The oldest Node that `engines` allows, the lowest TypeScript the README promises, and npm's `latest` TypeScript. */
export const NODE_FLOOR = "20.19.0";
export const TYPESCRIPT_FLOOR = "5.7.3";
export const TYPESCRIPT_LATEST = "7.0.2";
/** The Nest major of the CommonJS Nest app (@koper/nestjs's peer range is ^11 || ^12; the workspace tests 12). */
export const NEST_11 = "^11.1.0";

/** The version of a package installed at the repository root (so the temp install hits the npm cache). */
export function rootVersion(name: string): string {
  return String(JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version);
}

/** Output of a finished command. */
export interface Ran {
  stdout: string;
  stderr: string;
}

/** Runs a command; on failure the error carries its full output, so a failing test says why. */
export async function exec(file: string, args: string[], cwd: string, timeout = 300_000, env: Record<string, string> = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024, env: { ...cleanEnv(), ...env } });
    return { stdout, stderr };
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} (in ${cwd}) failed:\n${stdout}\n${stderr}`, { cause: error });
  }
}

// npm run / npx set npm_config_* and a PATH with the workspace's .bin first; the consumer must see none of it.
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== "NODE_OPTIONS") env[key] = value;
  env.PATH = [join(ROOT, "node_modules", "node", "bin"), ...(process.env.PATH ?? "").split(":").filter((p) => !p.includes("node_modules"))].join(":");
  return env;
}

/**
 * Apps whose packages cannot share the shared install (Nest 12 next to the shared install's Nest 11):
 * each gets a node_modules of its own, the tarballs of the @koper packages it imports among them, so
 * that everything it loads resolves to one copy. Installed alongside the shared install.
 */
export const OWN_INSTALLS: Record<string, readonly string[]> = {
  "nest12-esm": ["@koper/core", "@koper/nestjs", "@koper/typeorm", "@nestjs/common", "@nestjs/core", "@nestjs/platform-express", "typeorm", "sql.js", "reflect-metadata", "rxjs"],
};

/** The shared install: every tarball plus what the apps import, two TypeScripts, esbuild and Node 20. */
export async function installConsumers(packed: PackedPackage[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "koper-packed-consumers-"));
  const own = Object.entries(OWN_INSTALLS).map(([app, names]) => installOwn(dir, app, names, packed));
  const dependencies: Record<string, string> = {
    typeorm: rootVersion("typeorm"),
    "sql.js": rootVersion("sql.js"),
    "reflect-metadata": rootVersion("reflect-metadata"),
    // The nest11-cjs app: a CommonJS Nest 11 application (the repo itself runs Nest 12). rxjs is their peer.
    "@nestjs/common": NEST_11,
    "@nestjs/core": NEST_11,
    "@nestjs/platform-express": NEST_11,
    rxjs: rootVersion("rxjs"),
    kafkajs: rootVersion("kafkajs"),
    "@mikro-orm/core": rootVersion("@mikro-orm/core"),
    "@mikro-orm/sql": rootVersion("@mikro-orm/sql"),
    "@prisma/client": rootVersion("@prisma/client"),
    "@prisma/adapter-libsql": rootVersion("@prisma/adapter-libsql"),
    prisma: rootVersion("prisma"),
    zod3: "npm:zod@3.25.76", // an application on zod 3 while core runs on zod 4
    "@types/node": rootVersion("@types/node"),
    typescript: rootVersion("typescript"),
    "typescript-floor": `npm:typescript@${TYPESCRIPT_FLOOR}`,
    "typescript-latest": `npm:typescript@${TYPESCRIPT_LATEST}`,
    esbuild: rootVersion("esbuild"),
    "node-floor": `npm:node@${NODE_FLOOR}`,
  };
  for (const { pkg, tarball } of packed) dependencies[pkg.name] = `file:${tarball}`;
  const manifest = {
    name: "koper-packed-consumers",
    private: true,
    dependencies,
    // npm runs these packages' install scripts only when allowed: the node binary and esbuild's.
    allowScripts: { node: true, "node-floor": true, esbuild: true },
  };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await exec("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], dir, 600_000);
  await Promise.all(own);
  // The apps with an install of their own keep the package.json it was made from.
  const ownManifests = new Set(Object.keys(OWN_INSTALLS).map((app) => join(ROOT, "test", "packaging", "consumers", app, "package.json")));
  cpSync(join(ROOT, "test", "packaging", "consumers"), dir, { recursive: true, filter: (source) => !ownManifests.has(source) });
  // Apps with a schema.prisma import the client `prisma generate` writes beside it.
  const apps = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "schema.prisma")));
  await Promise.all(apps.map((app) => prismaGenerate(dir, join(dir, app.name, "schema.prisma"))));
  return dir;
}

// The app's committed package.json plus its dependencies: tarballs for @koper/*, the root's versions for the rest.
async function installOwn(dir: string, app: string, names: readonly string[], packed: PackedPackage[]): Promise<void> {
  const appDir = join(dir, app);
  mkdirSync(appDir, { recursive: true });
  const tarballs = new Map(packed.map(({ pkg, tarball }) => [pkg.name, `file:${tarball}`]));
  const committed = JSON.parse(readFileSync(join(ROOT, "test", "packaging", "consumers", app, "package.json"), "utf8")) as object;
  const dependencies = Object.fromEntries(names.map((name) => [name, tarballs.get(name) ?? rootVersion(name)]));
  writeFileSync(join(appDir, "package.json"), `${JSON.stringify({ ...committed, dependencies }, null, 2)}\n`);
  await exec("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], appDir, 600_000);
}

/**
 * Runs the installed Prisma CLI's `generate`. Prisma 7 fetches its schema engine before any command
 * unless PRISMA_SCHEMA_ENGINE_BINARY names an existing file (generate never runs it): the schema
 * serves, so this works offline (as test/support/prisma-generate.ts does in the repo).
 */
export async function prismaGenerate(dir: string, schema: string): Promise<void> {
  const cli = join(dir, "node_modules", "prisma", "build", "index.js");
  const env = { PRISMA_SCHEMA_ENGINE_BINARY: schema, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" };
  await exec(process.execPath, [cli, "generate", "--schema", schema], dirname(schema), 300_000, env);
}

/** Paths of the tools inside the shared install. */
export function tools(dir: string) {
  return {
    tsc: join(dir, "node_modules", "typescript", "bin", "tsc"),
    tscFloor: join(dir, "node_modules", "typescript-floor", "bin", "tsc"),
    tscLatest: join(dir, "node_modules", "typescript-latest", "bin", "tsc"),
    esbuild: join(dir, "node_modules", "esbuild", "bin", "esbuild"),
    node: join(ROOT, "node_modules", "node", "bin", "node"),
    nodeFloor: join(dir, "node_modules", "node-floor", "bin", "node"),
  };
}

/**
 * Runs `work` for every item, at most `limit` at once: tsc is mostly one core, and ten at once on a
 * small machine can each outlast `exec`'s timeout.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, lane));
}

/** Runs `tsc -p .` of one app with the given compiler (its own `node_modules/typescript/bin/tsc`). */
export async function compile(dir: string, app: string, tsc: string, extra: string[] = []): Promise<void> {
  await exec(process.execPath, [tsc, "-p", ".", ...extra], join(dir, app));
}

// kafkajs 2.2.4 sets a negative timeout when its request queue is idle; Node ≥ 24 warns once per
// process. That warning is kafkajs's own (test/support/quiet-kafkajs.ts drops it in the suite).
const KAFKAJS_WARNING = /^\(node:\d+\) TimeoutNegativeWarning:.*\nTimeout duration was set to 1\.\n\(Use `node --trace-warnings.*\n/m;

/** Runs an app's entry with one Node binary; returns stdout and the stderr left after kafkajs's known warning. */
export async function runApp(dir: string, app: string, node: string, entry: string): Promise<Ran> {
  const { stdout, stderr } = await exec(node, [entry], join(dir, app), 120_000);
  return { stdout, stderr: stderr.replace(KAFKAJS_WARNING, "") };
}

/** What an app must print. */
export function expected(dir: string, app: string): string {
  return readFileSync(join(dir, app, "expected.txt"), "utf8");
}

/** README examples (examples/snippets) and the packages of the install line README gives each. */
export const README_EXAMPLES = [
  { snippet: "plain-messages", install: ["@koper/core"] },
  { snippet: "data-listener", install: ["@koper/core"] },
  { snippet: "typeorm", install: ["@koper/core", "@koper/typeorm", "typeorm", "sql.js"] },
  { snippet: "mikro-orm", install: ["@koper/core", "@koper/mikro-orm", "@mikro-orm/core", "@mikro-orm/sql"] },
  // The snippet imports the client generated from examples/prisma-quickstart/schema.prisma.
  {
    snippet: "prisma",
    install: ["@koper/core", "@koper/prisma", "@prisma/client", "@prisma/adapter-libsql"],
    devInstall: ["prisma"],
    prismaSchema: "examples/prisma-quickstart/schema.prisma",
  },
] as const satisfies readonly ReadmeExample[];

/** One README example: its snippet in examples/snippets, the install line(s) README gives it, a Prisma schema it needs generated. */
export interface ReadmeExample {
  snippet: string;
  install: readonly string[];
  devInstall?: readonly string[];
  prismaSchema?: string;
}

/** Whether `pkg`'s `engines.node` admits NODE_FLOOR (MikroORM 7's adapter does not: it asks for >= 22.17). */
export function runsOnFloor(pkg: WorkspacePackage): boolean {
  const floor = engineFloor((pkg.json.engines as { node?: string } | undefined)?.node);
  const [major, minor] = NODE_FLOOR.split(".").map(Number) as [number, number];
  return floor !== undefined && (floor[0] < major || (floor[0] === major && floor[1] <= minor));
}

/**
 * Why an app cannot run on NODE_FLOOR (a @koper package it imports asks for a newer Node in
 * `engines`), or undefined when it can. Read from the app's imports, so a new app gets it right.
 */
export function floorSkipReason(app: string, packages: readonly WorkspacePackage[]): string | undefined {
  const source = readFileSync(join(ROOT, "test", "packaging", "consumers", app, "app.ts"), "utf8");
  const imported = new Set([...source.matchAll(/from\s+["'](@koper\/[a-z0-9-]+)["']/g)].map((m) => m[1]));
  const blocking = packages.filter((pkg) => imported.has(pkg.name) && !runsOnFloor(pkg));
  return blocking.length === 0
    ? undefined
    : blocking.map((pkg) => `${pkg.name} asks for Node ${(pkg.json.engines as { node: string }).node}`).join(", ");
}

/**
 * Installs exactly `names` (tarballs for @koper/*, the root's versions for the rest) into a fresh
 * temp app of its own, with nothing above it to fall back on, and puts the snippet there as
 * JavaScript (esbuild strips the types and the decorators, as tsx does in the repo).
 */
export async function installReadmeExample(packed: PackedPackage[], example: ReadmeExample): Promise<string> {
  const { snippet, install, devInstall = [], prismaSchema } = example;
  const dir = mkdtempSync(join(tmpdir(), `koper-readme-${snippet}-`));
  const tarballs = new Map(packed.map(({ pkg, tarball }) => [pkg.name, `file:${tarball}`]));
  const versions = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, tarballs.get(name) ?? rootVersion(name)]));
  const manifest = { name: `readme-${snippet}`, private: true, type: "module", dependencies: versions(install), devDependencies: versions(devInstall) };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await exec("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], dir, 600_000);
  // The snippet and its schema keep their places relative to each other (`../prisma-quickstart/generated/client.ts`).
  const source = join(dir, "examples", "snippets", `${snippet}.ts`);
  mkdirSync(dirname(source), { recursive: true });
  cpSync(join(ROOT, "examples", "snippets", `${snippet}.ts`), source);
  if (prismaSchema) {
    const schema = join(dir, prismaSchema);
    mkdirSync(dirname(schema), { recursive: true });
    cpSync(join(ROOT, prismaSchema), schema);
    await prismaGenerate(dir, schema);
  }
  // Bundled with every package external: only the snippet's own files (a generated client) go in.
  const esbuild = join(ROOT, "node_modules", "esbuild", "bin", "esbuild");
  const tsconfig = JSON.stringify({ compilerOptions: { experimentalDecorators: true } });
  const args = [source, "--bundle", "--packages=external", "--format=esm", "--platform=node", `--tsconfig-raw=${tsconfig}`, `--outfile=${join(dir, "example.mjs")}`];
  await exec(esbuild, [...args, "--log-level=warning"], dir);
  return dir;
}
