import { Command, CommanderError } from "commander";
import { AUDIT_TABLE, AuditLog, isKoperError, type AuditAction, type AuditKey } from "@koper/core";
import { CONNECT_TIMEOUT_MS, connect } from "./connect.ts";
import { CliError } from "./errors.ts";
import { renderChanges, renderHistory } from "./render.ts";
import { parseTime } from "./time.ts";

/** Where a run writes, what time it is, and whether to colour: injectable for tests (a fixed clock). */
export interface RunEnv {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => number;
  color: boolean;
  env: Record<string, string | undefined>;
}

interface CommonOptions {
  url?: string;
  table?: string;
  json?: boolean;
  connectTimeout?: string;
}

/** A command-line key: JSON for a composite key (`{"id":9,"line":2}`), the bare value otherwise. */
function parseKey(text: string): AuditKey {
  if (!text.trim().startsWith("{")) return text;
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    throw CliError.invalidKey(text);
  }
  if (key === null || typeof key !== "object" || Array.isArray(key) || Object.keys(key).length === 0) throw CliError.invalidKey(text);
  return key as AuditKey;
}

/** The audit log on the URL's database. */
interface Opened {
  log: AuditLog;
  /** The audit table's name, as given or the default. */
  table: string;
}

async function withLog<T>(options: CommonOptions, io: RunEnv, fn: (opened: Opened) => Promise<T>): Promise<T> {
  const url = options.url ?? io.env.KOPER_AUDIT_URL ?? io.env.DATABASE_URL;
  if (!url) throw CliError.noUrl();
  const seconds = options.connectTimeout === undefined ? undefined : Number(options.connectTimeout);
  if (seconds !== undefined && !(seconds > 0 && Number.isFinite(seconds))) throw CliError.invalidTimeout(options.connectTimeout!);
  const connection = await connect(url, options.table, seconds === undefined ? undefined : seconds * 1000);
  const table = connection.table ?? AUDIT_TABLE;
  try {
    return await fn({ log: new AuditLog(connection.client, { table }), table });
  } catch (error) {
    if (error instanceof CliError || isKoperError(error)) throw error;
    if (missingTable(error)) throw CliError.noAuditTable(table, url, error);
    throw CliError.database(url, error);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** For an empty history: when the entity's keys have other fields than the key given, how to give one. */
function keyHint(entity: string, key: AuditKey, fields: string[]): string | undefined {
  const given = typeof key === "object" && key !== null ? Object.keys(key).sort() : undefined;
  const sorted = [...fields].sort();
  if (fields.length === 0 || (given === undefined ? fields.length === 1 : given.join() === sorted.join())) return undefined;
  const example = `{${sorted.map((field) => `${JSON.stringify(field)}:…`).join(",")}}`;
  return fields.length === 1
    ? `Keys of ${entity} have one field, ${fields[0]}: give its value alone.\n`
    : `Keys of ${entity} have the fields ${sorted.join(", ")}: give them as JSON, e.g. '${example}'.\n`;
}

/** The driver's "no such table": PostgreSQL 42P01, MySQL/MariaDB ER_NO_SUCH_TABLE, SQLite's message. */
function missingTable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === "42P01" || code === "ER_NO_SUCH_TABLE" || (typeof message === "string" && /^no such table/.test(message));
}

/** JSON for scripts: bigints as their digits, bytes as base64 (Dates are ISO text already). */
const json = (value: unknown) =>
  `${JSON.stringify(
    value,
    function (this: Record<string, unknown>, key, v: unknown) {
      const raw = this[key];
      if (typeof raw === "bigint") return raw.toString();
      if (raw instanceof Uint8Array) return Buffer.from(raw).toString("base64");
      return v;
    },
    2,
  )}\n`;

function program(io: RunEnv): Command {
  const root = new Command("koper").description("Koper: data events from ORM writes.").exitOverride();
  root.configureOutput({ writeOut: io.out, writeErr: io.err });
  const audit = root.command("audit").description("Read the audit trail (the koper_audit table).");
  const common = (cmd: Command) =>
    cmd
      .option("--url <url>", "database URL (postgres://, mysql://, sqlite:<file>); default $KOPER_AUDIT_URL or $DATABASE_URL")
      .option("--table <name>", "audit table, schema-qualified if needed (default koper_audit)")
      .option("--json", "print JSON for scripts instead of a table")
      .option("--connect-timeout <seconds>", `give up connecting after this long (default ${CONNECT_TIMEOUT_MS / 1000})`);
  common(audit.command("history <entity> <key>").description("One row's versions, oldest first, with what changed from → to."))
    .action(async (entity: string, key: string, options: CommonOptions) => {
      const parsed = parseKey(key);
      const versions = await withLog(options, io, async ({ log, table }) => {
        const found = await log.history(entity, parsed);
        if (found.length > 0) return { found, hint: undefined };
        const fields = await log.keyFields(entity);
        if (fields === undefined) throw CliError.unknownEntity(entity, table);
        return { found, hint: keyHint(entity, parsed, fields) };
      });
      io.out(options.json ? json(versions.found) : renderHistory(entity, key, versions.found, io.color) + (versions.hint ?? ""));
    });
  common(audit.command("changes").description("Recent changes, filtered by entity, actor, action and time."))
    .option("--entity <name>", "only this entity")
    .option("--actor <who>", "only writes made by this actor (runWith({ actor }))")
    .option("--action <action>", "insert, update, delete or forget")
    .option("--since <time>", "from this time: a duration back (15m, 1h, 2d) or an ISO date")
    .option("--until <time>", "before this time (same forms)")
    .option("--limit <n>", "at most this many", "100")
    .option("--cursor <cursor>", "continue after the page that printed this cursor")
    .action(async (options: CommonOptions & Record<string, string | undefined>) => {
      const now = io.now();
      const page = await withLog(options, io, async ({ log, table }) => {
        const found = await log.changes({
          entity: options.entity,
          actor: options.actor,
          action: options.action as AuditAction | undefined,
          since: options.since === undefined ? undefined : parseTime(options.since, now),
          until: options.until === undefined ? undefined : parseTime(options.until, now),
          limit: Number(options.limit),
          cursor: options.cursor,
        });
        if (found.entries.length === 0 && options.entity !== undefined && (await log.keyFields(options.entity)) === undefined) {
          throw CliError.unknownEntity(options.entity, table);
        }
        return found;
      });
      io.out(options.json ? json(page) : renderChanges(page.entries, io.color, page.hasMore ? page.cursor : undefined));
    });
  return root;
}

/** Runs the koper command line (`argv` without node and script); resolves to the exit status. */
export async function run(argv: readonly string[], io: RunEnv): Promise<number> {
  try {
    await program(io).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError) {
      io.err(`koper: ${error.message}\n`);
      return error.status;
    }
    if (isKoperError(error)) {
      io.err(`koper: ${(error as Error).message}\n`);
      return 2;
    }
    io.err(`koper: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
