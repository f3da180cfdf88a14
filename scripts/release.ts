// `npm run release -- --dry-run`: checks every package under packages/* (conventions, one shared
// version, peer ranges), builds them in dependency order, packs them into .release/ and lists the
// tarballs. Without --dry-run it then publishes them, dependencies first, from a clean work tree.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { buildAll, checkConventions, listPackages, packAll, ROOT } from "./workspace.ts";

const { values } = parseArgs({
  options: {
    "dry-run": { type: "boolean", default: false },
    out: { type: "string", default: join(ROOT, ".release") },
    tag: { type: "string", default: "latest" },
  },
});

const packages = listPackages();
const problems = packages.flatMap((pkg) => checkConventions(pkg, packages));
const versions = new Set(packages.map((pkg) => pkg.version));
if (versions.size !== 1) {
  problems.push(`packages must share one version; found ${packages.map((p) => `${p.name}@${p.version}`).join(", ")}`);
}
if (problems.length > 0) fail(`release refused, fix these first:\n  ${problems.join("\n  ")}`);

if (!values["dry-run"]) {
  const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: ROOT, encoding: "utf8" }).trim();
  if (dirty) fail(`release refused: the work tree has uncommitted changes:\n${dirty}`);
}

console.log(`release ${[...versions][0]} of ${packages.length} packages: ${packages.map((p) => p.name).join(", ")}`);
buildAll(packages);
rmSync(values.out, { recursive: true, force: true });
const packed = packAll(values.out, packages);
for (const { pkg, tarball, files } of packed) {
  console.log(`  ${pkg.name}@${pkg.version}  ${relative(ROOT, tarball)}  (${files.length} files)`);
}

if (values["dry-run"]) {
  console.log("dry run: nothing published");
} else {
  for (const { tarball } of packed) {
    execFileSync("npm", ["publish", tarball, "--access", "public", "--tag", values.tag], { cwd: ROOT, stdio: "inherit" });
  }
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
