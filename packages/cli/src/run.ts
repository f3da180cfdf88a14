import { Command, CommanderError } from "commander";
import { AuditLog, isKoperError, type AuditAction, type AuditKey } from "@koper/core";
import { connect } from "./connect.ts";
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
}

/** A command-line key: JSON for a composite key (`{"id":9,"line":2}`), the bare value otherwise. */
function parseKey(text: string): AuditKey {
  return text.trim().startsWith("{") ? (JSON.parse(text) as AuditKey) : text;
}

async function withLog<T>(options: CommonOptions, io: RunEnv, fn: (log: AuditLog) => Promise<T>): Promise<T> {
  const url = options.url ?? io.env.KOPER_AUDIT_URL ?? io.env.DATABASE_URL;
  if (!url) throw CliError.noUrl();
  const connection = await connect(url, options.table);
  try {
    return await fn(new AuditLog(connection.client, { table: connection.table }));
  } finally {
    await connection.close();
  }
}

const json = (value: unknown) => `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v), 2)}\n`;

function program(io: RunEnv): Command {
  const root = new Command("koper").description("Koper: data events from ORM writes.").exitOverride();
  root.configureOutput({ writeOut: io.out, writeErr: io.err });
  const audit = root.command("audit").description("Read the audit trail (the koper_audit table).");
  const common = (cmd: Command) =>
    cmd
      .option("--url <url>", "database URL (postgres://, mysql://, sqlite:<file>); default $KOPER_AUDIT_URL or $DATABASE_URL")
      .option("--table <name>", "audit table, schema-qualified if needed (default koper_audit)")
      .option("--json", "print JSON for scripts instead of a table");
  common(audit.command("history <entity> <key>").description("One row's versions, oldest first, with what changed from → to."))
    .action(async (entity: string, key: string, options: CommonOptions) => {
      const versions = await withLog(options, io, (log) => log.history(entity, parseKey(key)));
      io.out(options.json ? json(versions) : renderHistory(entity, key, versions, io.color));
    });
  common(audit.command("changes").description("Recent changes, filtered by entity, actor, action and time."))
    .option("--entity <name>", "only this entity")
    .option("--actor <who>", "only writes made by this actor (runWith({ actor }))")
    .option("--action <action>", "insert, update, delete or forget")
    .option("--since <time>", "from this time: a duration back (15m, 1h, 2d) or an ISO date")
    .option("--until <time>", "before this time (same forms)")
    .option("--limit <n>", "at most this many", "100")
    .action(async (options: CommonOptions & Record<string, string | undefined>) => {
      const now = io.now();
      const page = await withLog(options, io, (log) =>
        log.changes({
          entity: options.entity,
          actor: options.actor,
          action: options.action as AuditAction | undefined,
          since: options.since === undefined ? undefined : parseTime(options.since, now),
          until: options.until === undefined ? undefined : parseTime(options.until, now),
          limit: Number(options.limit),
        }),
      );
      io.out(options.json ? json(page) : renderChanges(page.entries, io.color));
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
    if (error instanceof CliError || isKoperError(error)) {
      io.err(`koper: ${(error as Error).message}\n`);
      return 2;
    }
    io.err(`koper: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
