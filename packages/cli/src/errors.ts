/** What went wrong in a koper command: the message says how to fix the call. */
export type CliErrorCode = "invalid_argument" | "unsupported_url" | "driver_missing";

/** A koper command that cannot run as asked; exits with status 2 and its message. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly retriable = false;

  private constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.code = code;
  }

  static invalidDuration(value: string): CliError {
    return new CliError("invalid_argument", `"${value}" is not a time: use a duration back from now (90s, 15m, 1h, 2d, 1w) or an ISO date.`);
  }

  static noUrl(): CliError {
    return new CliError("invalid_argument", "No database: pass --url <database url>, or set KOPER_AUDIT_URL or DATABASE_URL.");
  }

  static unsupportedUrl(url: string): CliError {
    return new CliError(
      "unsupported_url",
      `Cannot open ${JSON.stringify(url.replace(/\/\/[^@/]*@/, "//…@"))}: use postgres://…, mysql://… / mariadb://…, or sqlite:<file>.`,
    );
  }

  static driverMissing(driver: string, cause: unknown): CliError {
    return new CliError("driver_missing", `This URL needs the "${driver}" package: npm install ${driver}`, { cause });
  }
}
