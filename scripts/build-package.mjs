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
for (const tree of ["esm", "cjs"]) rewriteDeclarationSpecifiers(join(dist, tree));

function compile(extra) {
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", ...extra], { cwd: dir, stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`build of ${dir} failed (tsc ${extra.join(" ")})`);
    process.exit(run.status ?? 1);
  }
}

// tsc rewrites `./x.ts` to `./x.js` in JavaScript (rewriteRelativeImportExtensions) but keeps
// `.ts` in declarations, which TypeScript before 5.0 (and node10 consumers) cannot read.
function rewriteDeclarationSpecifiers(root) {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (statSync(path).isDirectory()) rewriteDeclarationSpecifiers(path);
    else if (name.endsWith(".d.ts")) {
      const text = readFileSync(path, "utf8");
      const fixed = text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1$2.js$3");
      if (fixed !== text) writeFileSync(path, fixed);
    }
  }
}
