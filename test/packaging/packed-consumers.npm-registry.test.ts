// Packs every package under packages/* (as `npm run release -- --dry-run` does), installs the tarballs
// from a temp directory outside the workspace together with their peers FROM THE NPM REGISTRY, and
// compiles and runs one small application per module setup, on the repo's Node 24 and on the oldest
// Node `engines` allows (the npm package node@20.19.0), with the repo's TypeScript and the lowest one
// the README promises. publint and @arethetypeswrong/cli check every tarball.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAll, checkConventions, listPackages, packAll, ROOT, type PackedPackage } from "../../scripts/workspace.ts";
import {
  compile,
  eachLimited,
  exec,
  expected,
  installConsumers,
  installReadmeExample,
  NODE_FLOOR,
  README_EXAMPLES,
  floorSkipReason,
  runApp,
  runsOnFloor,
  tools,
  TYPESCRIPT_FLOOR,
  TYPESCRIPT_LATEST,
} from "./consumer-apps.ts";

const CI = process.env.CI === "true";
// Compiling and running real applications on a loaded machine: bounds, never speed assertions.
const SLOW = { timeout: 600_000 };
// tsc runs at once: one per core of a small machine (more only queue up behind each other).
const COMPILERS = 2;

function registryReachable(): boolean {
  try {
    execFileSync("npm", ["ping", "--loglevel=error"], { stdio: "ignore", timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

const reachable = registryReachable();
if (!reachable) {
  const message = "the npm registry is unreachable: the packed-consumer test cannot install its consumers";
  if (CI) throw new Error(`${message} (CI=true: a failure, not a skip)`);
  console.warn(`\n  SKIPPED packed-consumers: ${message}\n`);
}

/** Module setups of the apps under test/packaging/consumers, and the file tsc (or esbuild) makes of each. */
const NODE_APPS = [
  { app: "esm-nodenext", entry: "out/app.js" },
  { app: "cjs-node16", entry: "out/app.js" },
  { app: "cjs-node10", entry: "out/app.js" },
  { app: "tc39", entry: "out/app.js" },
  { app: "nest11-cjs", entry: "out/app.js" },
  // Nest 12 as `nest new` v12 makes it: ESM, nodenext; its own install holds Nest 12 and the tarballs.
  { app: "nest12-esm", entry: "out/app.js" },
  // MikroORM 7 is ESM only and needs Node >= 22.17 (require(esm) without a warning): these two
  // skip the Node 20.19 leg (floorSkipReason reads why from @koper/mikro-orm's engines), and there
  // is no node10 app: MikroORM's own declarations need node16, nodenext or bundler resolution.
  { app: "mikro-orm-esm", entry: "out/app.js" },
  { app: "mikro-orm-cjs", entry: "out/app.js" },
] as const;

describe.runIf(reachable)("packed packages in outside applications (npm registry)", () => {
  const packages = listPackages();
  let packed: PackedPackage[] = [];
  let dir = "";
  let bin: ReturnType<typeof tools>;
  // Its own directory per run, outside the workspace, so two runs never share tarballs.
  const tarballs = mkdtempSync(join(tmpdir(), "koper-tarballs-"));

  beforeAll(async () => {
    buildAll(packages);
    packed = packAll(tarballs, packages);
    dir = await installConsumers(packed);
    bin = tools(dir);
    // Every app compiles once with the repo's TypeScript (two side by side: tsc is mostly one core); the runs below share the output.
    await eachLimited([...NODE_APPS.map(({ app }) => app), "bundler"], COMPILERS, (app) => compile(dir, app, bin.tsc));
    await exec(bin.esbuild, bundleArgs(), join(dir, "bundler"));
  }, 900_000);

  // Removing two node_modules trees (the shared install, nest12-esm's) outlasts the 30 s default on a loaded machine.
  afterAll(() => {
    if (dir && !process.env.KOPER_KEEP_CONSUMERS) rmSync(dir, { recursive: true, force: true });
    rmSync(tarballs, { recursive: true, force: true });
  }, 300_000);

  it("finds every package under packages/* and each follows the package.json conventions", () => {
    expect(packages.map((p) => p.dir)).toEqual(expect.arrayContaining(["core", "kafka", "kafka-broker", "nestjs", "typeorm"]));
    expect(packages[0]!.name).toBe("@koper/core"); // dependencies first
    expect(packages.flatMap((pkg) => checkConventions(pkg, packages))).toEqual([]);
  });

  it("publint and @arethetypeswrong/cli report no problem in any tarball", SLOW, async () => {
    for (const { tarball } of packed) {
      const lint = await exec(join(ROOT, "node_modules", ".bin", "publint"), ["run", "--strict", tarball], ROOT);
      expect(lint.stdout).toContain("All good!");
      // attw exits non-zero on any problem (node10, node16 from CJS and from ESM, bundler).
      const types = await exec(join(ROOT, "node_modules", ".bin", "attw"), [tarball, "--format", "ascii"], ROOT);
      expect(types.stdout).toContain("No problems found");
    }
  });

  it("ships declarations that name .js files (TypeScript cannot read .ts specifiers from a .d.ts)", () => {
    for (const { pkg, files } of packed) {
      for (const file of files.filter((f) => f.endsWith(".d.ts"))) {
        const text = readFileSync(join(dir, "node_modules", pkg.name, file), "utf8");
        expect(text, `${pkg.name}/${file}`).not.toMatch(/(?:from|import)\s*\(?\s*["']\.{1,2}\/[^"']*\.ts["']/);
      }
    }
  });

  it("ships source maps whose sources are in the tarball (src/ is shipped)", () => {
    for (const { pkg, files } of packed) {
      const maps = files.filter((f) => f.endsWith(".js.map") || f.endsWith(".d.ts.map"));
      expect(maps.length, pkg.name).toBeGreaterThan(0);
      for (const map of maps) {
        const { sources } = JSON.parse(readFileSync(join(dir, "node_modules", pkg.name, map), "utf8")) as { sources: string[] };
        for (const source of sources) expect(files, `${pkg.name}/${map} → ${source}`).toContain(posix.join(posix.dirname(map), source));
      }
    }
  });

  for (const { app, entry } of NODE_APPS) {
    const skip = floorSkipReason(app, packages);
    const where = skip ? `on Node 24 (not on ${NODE_FLOOR}: ${skip})` : `on Node 24 and on Node ${NODE_FLOOR}`;
    it(`${app}: compiles with TypeScript and runs ${where}`, SLOW, async () => {
      for (const node of skip ? [bin.node] : [bin.node, bin.nodeFloor]) {
        const out = await runApp(dir, app, node, entry);
        expect({ node, ...out }).toEqual({ node, stdout: expected(dir, app), stderr: "" });
      }
    });
  }

  it(`bundler: type-checks, bundles with esbuild through the "import" condition and runs on Node 24 and ${NODE_FLOOR}`, SLOW, async () => {
    const bundle = readFileSync(join(dir, "bundler", "out", "app.mjs"), "utf8");
    expect(bundle).toContain("node_modules/@koper/core/dist/esm/");
    expect(bundle).not.toContain("dist/cjs/");
    for (const node of [bin.node, bin.nodeFloor]) {
      expect(await runApp(dir, "bundler", node, "out/app.mjs")).toEqual({ stdout: expected(dir, "bundler"), stderr: "" });
    }
  });

  it(`type-checks every app with TypeScript ${TYPESCRIPT_FLOOR}, the lowest supported`, SLOW, async () => {
    await eachLimited([...NODE_APPS.map((a) => a.app), "bundler"], COMPILERS, (app) => compile(dir, app, bin.tscFloor, ["--noEmit"]));
  });

  it(`type-checks every app but node10 with TypeScript ${TYPESCRIPT_LATEST} (npm's latest; it removed node10 resolution)`, SLOW, async () => {
    const apps = [...NODE_APPS.map((a) => a.app), "bundler"].filter((app) => app !== "cjs-node10");
    await eachLimited(apps, COMPILERS, (app) => compile(dir, app, bin.tscLatest, ["--noEmit"]));
  });

  it("runs each README example in an app that installed exactly the README's install line for it", SLOW, async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
    const dirs = await Promise.all(
      README_EXAMPLES.map(async (example) => {
        const { snippet, install } = example;
        expect(readme, `README's install line for ${snippet}`).toContain(`npm install ${install.join(" ")}`);
        if ("devInstall" in example) expect(readme, `README's dev install line for ${snippet}`).toContain(`npm install --save-dev ${example.devInstall.join(" ")}`);
        return installReadmeExample(packed, example);
      }),
    );
    try {
      for (const [i, { snippet }] of README_EXAMPLES.entries()) {
        const { stdout, stderr } = await exec(bin.node, ["example.mjs"], dirs[i]!);
        const want = readFileSync(join(ROOT, "examples", "snippets", `${snippet}.out`), "utf8");
        // Events of different keys may be handled in any order: compare the lines as sets (as test/readme.test.ts does).
        expect({ snippet, lines: stdout.trim().split("\n").sort(), stderr }).toEqual({ snippet, lines: want.trim().split("\n").sort(), stderr: "" });
      }
    } finally {
      for (const readmeDir of dirs) rmSync(readmeDir, { recursive: true, force: true });
    }
  });

  it(`require() and import() of every package from its tarball give the same exports (Node 24; ${NODE_FLOOR} where engines allow)`, SLOW, async () => {
    for (const node of [bin.node, bin.nodeFloor]) {
      const names = packed.filter(({ pkg }) => node === bin.node || runsOnFloor(pkg)).map(({ pkg }) => pkg.name);
      const { stdout, stderr } = await exec(node, ["-e", BOTH_BUILDS, ...names], dir);
      const loaded = JSON.parse(stdout) as Record<string, { required: string[]; imported: string[]; cjsFile: string }>;
      expect(Object.keys(loaded), node).toEqual(names);
      for (const [name, { required, imported, cjsFile }] of Object.entries(loaded)) {
        expect(required.length, `${name} on ${node}`).toBeGreaterThan(0);
        expect({ name, required }).toEqual({ name, required: imported });
        expect(cjsFile, name).toMatch(/\/dist\/cjs\/index\.js$/);
      }
      expect(stderr).toBe("");
    }
  });

  it("installs a working bin: koper-kafka-broker --help", SLOW, async () => {
    const help = await exec(join(dir, "node_modules", ".bin", "koper-kafka-broker"), ["--help"], dir);
    expect(help.stdout).toMatch(/^Usage: koper-kafka-broker/);
  });
});

// Run with `node -e` in the shared install: each package named after it, by require() (its
// CommonJS build) and by import() (its ESM build), printing the export names of both.
const BOTH_BUILDS = `
(async () => {
  const out = {};
  for (const name of process.argv.slice(1)) {
    const required = Object.keys(require(name)).sort();
    const imported = Object.keys(await import(name)).filter((k) => k !== "default" && k !== "module.exports").sort();
    out[name] = { required, imported, cjsFile: require.resolve(name) };
  }
  console.log(JSON.stringify(out));
})().catch((error) => { console.error(error); process.exitCode = 1; });
`;

function bundleArgs(): string[] {
  // The ORM, its driver and kafkajs stay outside the bundle, as most server bundles keep them.
  const external = ["typeorm", "sql.js", "reflect-metadata", "kafkajs"].map((name) => `--external:${name}`);
  return ["app.ts", "--bundle", "--platform=node", "--format=esm", "--outfile=out/app.mjs", "--log-level=warning", ...external];
}
