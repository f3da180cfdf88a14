import { AsyncLocalStorage } from "node:async_hooks";
import type { DriverErrorInfo } from "./database-errors.ts";

/**
 * Database policy every adapter needs, kept once here: which failures leave a transaction that
 * cannot commit, which errors are deadlocks, which entities are captured, and the scope in which
 * the schema's own writes (schema sync, migrations) publish nothing.
 */

/** The database families whose transaction behaviour differs. */
export type DatabaseFamily = "postgres" | "mysql" | "sqlite" | "other";

/** Whether `info` (what the adapter dug out of a driver error) is a deadlock, on any database. */
export function isDeadlock(info: DriverErrorInfo): boolean {
  for (const raw of [info.code, info.errno]) {
    const code = raw === undefined ? "" : String(raw);
    if (code === "ER_LOCK_DEADLOCK" || code === "1213" || code === "40P01") return true;
  }
  return false;
}

/**
 * Whether a failed statement means its transaction can no longer commit, so the events buffered
 * in it must be dropped. PostgreSQL (and CockroachDB) refuse every statement after a failed one
 * and turn COMMIT into ROLLBACK. MySQL and MariaDB undo only the failed statement, except after a
 * deadlock, when InnoDB has rolled back the whole transaction. SQLite undoes only the statement.
 */
export function failureAbortsTransaction(family: DatabaseFamily, info: DriverErrorInfo): boolean {
  if (family === "postgres") return true;
  if (family === "mysql") return isDeadlock(info);
  return false;
}

/** The family of a database named the way ORMs name their drivers ("postgres", "postgresql", "mariadb", "better-sqlite3", …). */
export function databaseFamily(name: string): DatabaseFamily {
  const n = name.toLowerCase();
  if (n.includes("postgres") || n.includes("cockroach")) return "postgres";
  if (n.includes("mysql") || n.includes("maria")) return "mysql";
  if (n.includes("sqlite") || n.includes("sqljs") || n.includes("libsql")) return "sqlite";
  return "other";
}

/** An adapter's `entities`/`exclude` options, whatever the ORM calls an entity reference. */
export interface EntitySelection<Ref> {
  /** Capture only these entities. Default: every entity. */
  entities?: readonly Ref[] | undefined;
  /** Never capture these (wins over `entities`). */
  exclude?: readonly Ref[] | undefined;
}

/**
 * The entity filter of `entities`/`exclude`, with the ORM's own idea of whether a piece of
 * metadata matches a reference (by entity name, table name or class). Answers are cached per
 * metadata object: the filter runs on every write (and with neither option, it asks nothing).
 */
export function entityFilter<Meta extends object, Ref>(
  selection: EntitySelection<Ref>,
  matches: (metadata: Meta, ref: Ref) => boolean,
): (metadata: Meta) => boolean {
  const { entities: include, exclude = [] } = selection;
  if (include === undefined && exclude.length === 0) return () => true;
  const answers = new WeakMap<Meta, boolean>();
  return (metadata) => {
    let answer = answers.get(metadata);
    if (answer === undefined) {
      answer = (include === undefined || include.some((ref) => matches(metadata, ref))) && !exclude.some((ref) => matches(metadata, ref));
      answers.set(metadata, answer);
    }
    return answer;
  };
}

/**
 * The names in `entities`/`exclude` that name no known entity (or table): a misspelt name would
 * silently capture nothing, so adapters refuse them once the ORM's metadata exists.
 */
export function unknownEntityNames<Ref>(selection: EntitySelection<Ref>, known: readonly string[]): string[] {
  const names = [...(selection.entities ?? []), ...(selection.exclude ?? [])].filter((r): r is Ref & string => typeof r === "string");
  return names.filter((name) => !known.includes(name));
}

// Writes made by schema sync and migrations are the schema's business, not the application's.
const silence = new AsyncLocalStorage<true>();

/** Runs `fn` in a scope whose writes adapters do not capture (schema sync, migrations). */
export function runSilenced<T>(fn: () => T): T {
  return silence.run(true, fn);
}

/** True inside `runSilenced`: an adapter records nothing here. */
export function isSilenced(): boolean {
  return silence.getStore() === true;
}
