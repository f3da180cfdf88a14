/**
 * The TypeORM module a test runs on: 1.x (`typeorm`) or 0.3.x (`typeorm-0.3`, an npm alias).
 * Both expose the same names; the tests take every value (decorators, DataSource, operators,
 * error classes) from it, so one suite runs on either. Types are 1.x's: 0.3's differ only in
 * details the tests do not touch.
 */
export type TypeormModule = typeof import("typeorm");

/** Which TypeORM line a test file runs on. */
export type TypeormLine = "1.x" | "0.3";

/**
 * Loads one TypeORM line. Only one per process: both copies keep entity metadata in one global
 * registry, so a test file never loads both (vitest runs each file in its own process).
 */
export async function loadTypeorm(line: TypeormLine): Promise<TypeormModule> {
  if (line === "1.x") return await import("typeorm");
  return (await import("typeorm-0.3")) as unknown as TypeormModule;
}
