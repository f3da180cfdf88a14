/** What went wrong in a koper command: the message says how to fix the call, or what the database said. */
export type CliErrorCode = "invalid_argument" | "unsupported_url" | "driver_missing" | "unknown_entity" | "no_audit_table" | "database_error";

/** A koper command that cannot run as asked (exit status 2), or whose database failed it (status 1); its message says why. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly retriable = false;
  /** The exit status: 2 for a call to fix, 1 for a database that could not answer. */
  readonly status: 1 | 2;

  private constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.code = code;
    this.status = code === "database_error" || code === "no_audit_table" ? 1 : 2;
  }

  static invalidDuration(value: string): CliError {
    return new CliError("invalid_argument", `"${value}" is not a time: use a duration back from now (90s, 15m, 1h, 2d, 1w) or an ISO date.`);
  }

  static invalidKey(text: string): CliError {
    return new CliError("invalid_argument", `${JSON.stringify(text)} is not a key: give a one-column key as its value (7), a composite key as JSON ('{"orderId":9,"line":2}').`);
  }

  static invalidTimeout(text: string): CliError {
    return new CliError("invalid_argument", `"${text}" is not a timeout: give seconds, e.g. --connect-timeout 10.`);
  }

  static noUrl(): CliError {
    return new CliError("invalid_argument", "No database: pass --url <database url>, or set KOPER_AUDIT_URL or DATABASE_URL.");
  }

  static unsupportedUrl(url: string): CliError {
    return new CliError("unsupported_url", `Cannot open ${shown(url)}: use postgres://…, mysql://… / mariadb://…, or sqlite:<file>.`);
  }

  static noSqliteFile(path: string): CliError {
    return new CliError("invalid_argument", `No SQLite database at ${JSON.stringify(path)}: give the path of the application's database file (sqlite:path/to/app.db).`);
  }

  static driverMissing(driver: string, cause: unknown): CliError {
    return new CliError("driver_missing", `This URL needs the "${driver}" package: npm install ${driver}`, { cause });
  }

  static unknownEntity(entity: string, table: string): CliError {
    return new CliError(
      "unknown_entity",
      `No audit rows for entity ${JSON.stringify(entity)} in ${table}: entity names are the ORM's entity (class) names, case-sensitive, e.g. Customer.`,
    );
  }

  static noAuditTable(table: string, url: string, cause: unknown): CliError {
    return new CliError(
      "no_audit_table",
      `No audit table ${table} at ${shown(url)}: apply the migration in @koper/core/src/audit/migrations (or ensureAuditTable), or name the table with --table (or ?schema= on a postgres:// URL).`,
      { cause },
    );
  }

  static database(url: string, cause: unknown): CliError {
    return new CliError("database_error", `Cannot read the audit trail at ${shown(url)}: ${reason(cause)}`, { cause });
  }
}

/**
 * The URL without its user and password: everything up to the last `@` (a password may hold an
 * unescaped `@` or `/`), and a `password=` query parameter's value.
 */
export function shown(url: string): string {
  return JSON.stringify(url.replace(/\/\/.*@/, "//…@").replace(/([?&]\w*(?:password|pass|pwd)=)[^&#]*/gi, "$1…"));
}

/** A driver error's words: its message, or for an AggregateError (every address refused) its first one's. */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const first = error instanceof AggregateError ? (error.errors[0] as Error | undefined) : undefined;
  const message = error.message || first?.message || (error as { code?: string }).code || error.name;
  return message.replace(/\s+$/, "") + (/[.!?]$/.test(message) ? "" : ".");
}
