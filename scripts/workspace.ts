// The publishable packages of this repository, found under packages/* (never a hard-coded list),
// the conventions their package.json must follow, and building and packing them in dependency order.
// Used by `npm run release` and by test/packaging/packed-consumers.npm-registry.test.ts.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

type Deps = Record<string, string>;

/** One workspace package as read from its package.json. */
export interface WorkspacePackage {
  /** Folder name under packages/. */
  dir: string;
  /** Absolute path of the folder. */
  path: string;
  name: string;
  version: string;
  json: Record<string, unknown> & { dependencies?: Deps; peerDependencies?: Deps; devDependencies?: Deps };
}

/** Every non-private package under packages/*, dependencies before their dependents. */
export function listPackages(): WorkspacePackage[] {
  const found = readdirSync(join(ROOT, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, "packages", entry.name, "package.json")))
    .map((entry) => {
      const path = join(ROOT, "packages", entry.name);
      const json = JSON.parse(readFileSync(join(path, "package.json"), "utf8")) as WorkspacePackage["json"];
      return { dir: entry.name, path, name: String(json.name), version: String(json.version), json };
    })
    .filter((pkg) => pkg.json.private !== true);
  return dependencyOrder(found);
}

/** Names of the workspace packages `pkg` depends on in any way. */
export function internalDeps(pkg: WorkspacePackage, all: readonly WorkspacePackage[]): string[] {
  const names = new Set(all.map((p) => p.name));
  const { dependencies = {}, peerDependencies = {}, devDependencies = {} } = pkg.json;
  return [...new Set([...Object.keys(dependencies), ...Object.keys(peerDependencies), ...Object.keys(devDependencies)])].filter(
    (name) => names.has(name) && name !== pkg.name,
  );
}

function dependencyOrder(packages: WorkspacePackage[]): WorkspacePackage[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const ordered: WorkspacePackage[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (pkg: WorkspacePackage, path: string[]) => {
    if (state.get(pkg.name) === "done") return;
    if (state.get(pkg.name) === "visiting") throw new Error(`dependency cycle: ${[...path, pkg.name].join(" → ")}`);
    state.set(pkg.name, "visiting");
    for (const dep of internalDeps(pkg, packages).sort()) visit(byName.get(dep)!, [...path, pkg.name]);
    state.set(pkg.name, "done");
    ordered.push(pkg);
  };
  for (const pkg of [...packages].sort((a, b) => a.dir.localeCompare(b.dir))) visit(pkg, []);
  return ordered;
}

/** Builds every package (ESM + CommonJS, see scripts/build-package.mjs), dependencies first. */
export function buildAll(packages = listPackages()): void {
  for (const pkg of packages) {
    execFileSync(process.execPath, [join(ROOT, "scripts", "build-package.mjs")], { cwd: pkg.path, stdio: "inherit" });
  }
}

/** A packed tarball and the files in it. */
export interface PackedPackage {
  pkg: WorkspacePackage;
  tarball: string;
  files: string[];
}

/** Packs every (already built) package into `outDir`; checks that each tarball holds what its package.json points at. */
export function packAll(outDir: string, packages = listPackages()): PackedPackage[] {
  mkdirSync(outDir, { recursive: true });
  return packages.map((pkg) => {
    const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", outDir], {
      cwd: pkg.path,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [info] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
    const packed = { pkg, tarball: join(outDir, info.filename), files: info.files.map((f) => f.path) };
    const missing = requiredFiles(pkg).filter((file) => !packed.files.includes(file));
    if (missing.length > 0) throw new Error(`${pkg.name}: the tarball lacks ${missing.join(", ")} (was it built?)`);
    return packed;
  });
}

/** Files every tarball must contain: both builds of each export, its types, bin targets, LICENSE, README. */
export function requiredFiles(pkg: WorkspacePackage): string[] {
  const files = new Set(["package.json", "LICENSE", "README.md", "dist/cjs/package.json"]);
  const collect = (target: unknown) => {
    if (typeof target === "string") files.add(target.replace(/^\.\//, ""));
    else if (target && typeof target === "object") Object.values(target).forEach(collect);
  };
  collect(pkg.json.exports);
  collect(pkg.json.bin);
  for (const field of ["main", "types"]) collect(pkg.json[field]);
  return [...files];
}

export { checkConventions } from "./conventions.ts";
