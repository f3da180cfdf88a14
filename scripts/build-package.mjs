#!/usr/bin/env node
// Builds the workspace package in the current directory into dist/esm (ESM) and dist/cjs
// (CommonJS), both with .d.ts and source maps. Run by each package's `build` and `prepack`.
//
// Why tsc twice rather than a bundler: the output mirrors src/ file for file, so source maps and
// declaration maps point at the shipped src/ one to one, and the build needs no tool beyond the
// compiler the repo already type-checks with.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const tsc = require.resolve("typescript/bin/tsc");
const dir = process.cwd();
const dist = join(dir, "dist");
const packageRequire = createRequire(join(dir, "package.json"));
const esmOnlyCache = new Map();

rmSync(dist, { recursive: true, force: true });
compile(["--outDir", "dist/esm"]);
// CommonJS: module commonjs needs node10 resolution and no verbatimModuleSyntax (which forbids
// `import` in a CommonJS output); customConditions is only valid with the modern resolutions.
compile([
  "--outDir", "dist/cjs",
  "--module", "commonjs",
  "--moduleResolution", "node10",
  "--verbatimModuleSyntax", "false",
  "--customConditions", "null",
]);
// dist/cjs/*.js and *.d.ts are CommonJS to Node and to TypeScript through this nearest package.json.
writeFileSync(join(dist, "cjs", "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);
for (const tree of ["esm", "cjs"]) rewriteDeclarationSpecifiers(join(dist, tree), tree === "cjs");

function compile(extra) {
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", ...extra], { cwd: dir, stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`build of ${dir} failed (tsc ${extra.join(" ")})`);
    process.exit(run.status ?? 1);
  }
}

// tsc rewrites `./x.ts` to `./x.js` in JavaScript (rewriteRelativeImportExtensions) but keeps
// `.ts` in declarations, which TypeScript before 5.0 (and node10 consumers) cannot read.
// In the CommonJS declarations, a type import of an ESM-only package (MikroORM 7's) is an error to
// a node16/nodenext consumer (TS1479/TS1541) unless it says `resolution-mode: "import"`; at run time
// the CommonJS build's require() of it works through Node's require(esm).
function rewriteDeclarationSpecifiers(root, commonjs) {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (statSync(path).isDirectory()) rewriteDeclarationSpecifiers(path, commonjs);
    else if (name.endsWith(".d.ts")) {
      const text = readFileSync(path, "utf8");
      let fixed = text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1$2.js$3");
      if (commonjs) fixed = importEsmOnlyTypes(fixed);
      if (fixed !== text) writeFileSync(path, fixed);
    }
  }
}

function importEsmOnlyTypes(text) {
  const attribute = '{ "resolution-mode": "import" }';
  return text
    .replace(/^import (type )?\{([^}]*)\} from (["'])([^."'][^"']*)\3;$/gm, (line, _type, names, quote, specifier) => {
      if (!esmOnly(specifier)) return line;
      const bare = names.split(",").map((n) => n.trim().replace(/^type\s+/, "")).filter(Boolean).join(", ");
      return `import type { ${bare} } from ${quote}${specifier}${quote} with ${attribute};`;
    })
    .replace(/\bimport\((["'])([^."'][^"']*)\1\)/g, (call, quote, specifier) =>
      esmOnly(specifier) ? `import(${quote}${specifier}${quote}, { with: ${attribute} })` : call,
    );
}

// ESM-only: a "type": "module" package whose export for the subpath has no "require" condition.
function esmOnly(specifier) {
  if (esmOnlyCache.has(specifier)) return esmOnlyCache.get(specifier);
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const subpath = specifier === name ? "." : `./${specifier.slice(name.length + 1)}`;
  let result = false;
  try {
    const json = JSON.parse(readFileSync(packageRequire.resolve(`${name}/package.json`), "utf8"));
    const exports = json.exports;
    const target = exports === undefined || typeof exports === "string" || !Object.keys(exports).some((k) => k.startsWith("."))
      ? exports
      : exports[subpath];
    result = json.type === "module" && !JSON.stringify(target ?? null).includes('"require"') && !/\.cjs$/.test(String(target));
  } catch {
    result = false; // not installed or no readable package.json: leave the import as tsc wrote it
  }
  esmOnlyCache.set(specifier, result);
  return result;
}
