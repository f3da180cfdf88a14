/** Levels Koper logs at, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/**
 * What the `logger` option takes: `console` as it is, a pino logger (detected by its `bindings()`
 * method, called object first as pino expects), or any object with these methods (winston, …).
 * Missing `info`/`debug` methods mean those levels are dropped.
 */
export interface LoggerLike {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info?(...args: unknown[]): void;
  debug?(...args: unknown[]): void;
}

/** Koper's logger: a message and structured fields per level. Adapters and transports log through it. */
export interface KoperLogger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

/**
 * Wraps the application's logger. Without one, warnings and errors go to `console` and `info` and
 * `debug` are dropped: a library is quiet unless something needs attention.
 */
export function createLogger(target?: LoggerLike): KoperLogger {
  // Looked up on each call, so a console patched later (by a test runner, say) is the one written to.
  const sink: LoggerLike = target ?? { error: (...args) => console.error(...args), warn: (...args) => console.warn(...args) };
  const objectFirst = typeof (sink as { bindings?: unknown }).bindings === "function";
  const logger = {} as KoperLogger;
  for (const level of LEVELS) {
    const method = sink[level];
    logger[level] =
      typeof method !== "function"
        ? () => {}
        : (message, fields) => {
            if (fields === undefined) method.call(sink, message);
            else if (objectFirst) method.call(sink, fields, message);
            else method.call(sink, message, fields);
          };
  }
  return logger;
}
