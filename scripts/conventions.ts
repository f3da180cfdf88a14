// The package.json conventions every publishable package follows (written out in CONTRIBUTING.md).
// `npm run release` refuses to pack while any package breaks one; the packed-consumer test asserts none does.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { WorkspacePackage } from "./workspace.ts";

const REPO = "https://github.com/koper-ts/koper-ts";
const BUILD = "node ../../scripts/build-package.mjs";

/** What is wrong with `pkg`'s package.json and files, as sentences; empty when it follows every convention. */
export function checkConventions(pkg: WorkspacePackage, all: readonly WorkspacePackage[]): string[] {
  const json = pkg.json as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON being checked
  const problems: string[] = [];
  const expect = (ok: boolean, problem: string) => void (ok || problems.push(problem));

  expect(/^@koper\/[a-z0-9-]+$/.test(pkg.name), `name "${pkg.name}" is not @koper/<name>`);
  expect(typeof json.description === "string" && json.description.length > 0, "no description");
  expect(Array.isArray(json.keywords) && json.keywords.length > 0, "no keywords");
  expect(json.license === "MIT" && existsSync(join(pkg.path, "LICENSE")), 'license must be "MIT" with a LICENSE file');
  expect(existsSync(join(pkg.path, "README.md")), "no README.md");
  expect(existsSync(join(pkg.path, "tsconfig.build.json")), "no tsconfig.build.json");
  expect(json.homepage === `${REPO}/tree/main/packages/${pkg.dir}#readme`, `homepage must be ${REPO}/tree/main/packages/${pkg.dir}#readme`);
  expect(json.bugs?.url === `${REPO}/issues`, `bugs.url must be ${REPO}/issues`);
  expect(
    json.repository?.type === "git" && json.repository?.url === `git+${REPO}.git` && json.repository?.directory === `packages/${pkg.dir}`,
    `repository must be { type: "git", url: "git+${REPO}.git", directory: "packages/${pkg.dir}" }`,
  );
  expect(json.type === "module", 'type must be "module"');
  expect(json.sideEffects === false, "sideEffects must be false");
  expect(
    engineFloor(json.engines?.node) !== undefined,
    'engines.node must be ">=20.19" (require(esm) and the CommonJS build need it), or a higher ">=<major>.<minor>" its peers need',
  );
  expect(json.publishConfig?.access === "public", 'publishConfig.access must be "public"');
  expect(json.scripts?.build === BUILD && json.scripts?.prepack === BUILD, `scripts.build and scripts.prepack must be "${BUILD}"`);
  expect(sameList(json.files, ["dist", "src", "README.md", "LICENSE"]), 'files must be ["dist", "src", "README.md", "LICENSE"]');
  expect(json.main === "./dist/cjs/index.js" && json.types === "./dist/cjs/index.d.ts", 'main/types must be "./dist/cjs/index.js" / "./dist/cjs/index.d.ts"');
  problems.push(...exportProblems(json.exports));
  problems.push(...dependencyProblems(pkg, all));
  return problems.map((problem) => `${pkg.name} (packages/${pkg.dir}/package.json): ${problem}`);
}

function exportProblems(exports: Record<string, unknown> | undefined): string[] {
  if (!exports || typeof exports !== "object") return ["no exports map"];
  const problems: string[] = [];
  if (exports["./package.json"] !== "./package.json") problems.push('exports must have "./package.json": "./package.json"');
  if (!exports["."]) problems.push('exports must have "."');
  for (const [subpath, target] of Object.entries(exports)) {
    if (subpath === "./package.json") continue;
    const stem = subpath === "." ? "index" : subpath.slice(2);
    const expected = {
      "koper-source": `./src/${stem}.ts`,
      import: { types: `./dist/esm/${stem}.d.ts`, default: `./dist/esm/${stem}.js` },
      require: { types: `./dist/cjs/${stem}.d.ts`, default: `./dist/cjs/${stem}.js` },
    };
    // Key order matters: Node and TypeScript take the first condition that matches.
    if (JSON.stringify(target) !== JSON.stringify(expected)) {
      problems.push(`exports["${subpath}"] must be exactly ${JSON.stringify(expected)} (in this order)`);
    }
  }
  return problems;
}

function dependencyProblems(pkg: WorkspacePackage, all: readonly WorkspacePackage[]): string[] {
  const problems: string[] = [];
  const internal = new Map(all.map((p) => [p.name, p.version]));
  for (const [name] of Object.entries(pkg.json.dependencies ?? {})) {
    if (internal.has(name)) problems.push(`${name} must be a peerDependency (one copy of it per application), not a dependency`);
  }
  for (const [name, range] of Object.entries(pkg.json.peerDependencies ?? {})) {
    const version = internal.get(name);
    if (version !== undefined && range !== `^${version}`) problems.push(`peerDependencies["${name}"] must be "^${version}", not "${range}"`);
    if (version === undefined && /^\d/.test(range)) problems.push(`peerDependencies["${name}"] is pinned to "${range}": give a range`);
  }
  return problems;
}

/** The Node floor of an `engines.node` of the form ">=<major>.<minor>" at or above 20.19, as [major, minor]; else undefined. */
export function engineFloor(range: unknown): [number, number] | undefined {
  const match = typeof range === "string" ? /^>=(\d+)\.(\d+)$/.exec(range) : null;
  if (!match) return undefined;
  const floor: [number, number] = [Number(match[1]), Number(match[2])];
  return floor[0] > 20 || (floor[0] === 20 && floor[1] >= 19) ? floor : undefined;
}

function sameList(value: unknown, expected: string[]): boolean {
  return Array.isArray(value) && value.length === expected.length && expected.every((item) => value.includes(item));
}
