import { expect, it, type TestContext } from "vitest";

/** Registers one contract test under a stable name (`area.what`), by which an adapter can skip it. */
export type ContractTest = (name: string, title: string, fn: (ctx: TestContext) => Promise<void>) => void;

/**
 * The test registrar of one adapter run (drizzle's `skipTests([...])` pattern): a test named in
 * `skips` is registered as skipped, with its reason in the title, so a driver's gaps show in every
 * report. `check` registers a test that fails when a skip names no test: a typo must not hide a gap.
 */
export function namedTests(adapter: string, skips: Readonly<Record<string, string>>): { test: ContractTest; check: () => void } {
  const seen = new Set<string>();
  const test: ContractTest = (name, title, fn) => {
    if (seen.has(name)) throw new Error(`two contract tests are named ${name}`);
    seen.add(name);
    const reason = skips[name];
    if (reason !== undefined) it.skip(`[${name}] ${title} — skipped for ${adapter}: ${reason}`, fn);
    else it(`[${name}] ${title}`, fn);
  };
  const check = () =>
    it("[contract.skip-names] every name in skipTests names a contract test", () => {
      expect(Object.keys(skips).filter((name) => !seen.has(name))).toEqual([]);
    });
  return { test, check };
}
