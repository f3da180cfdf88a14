/** Every error code Koper itself raises; `KoperError.code` is one of these. */
export type KoperErrorCode =
  | "invalid_topic"
  | "invalid_config"
  | "invalid_listener"
  | "payload_too_large"
  | "unencodable_value"
  | "invalid_envelope"
  | "invalid_payload"
  | "stopped"
  | "transport_failed"
  | "capture_misuse"
  | "stop_deadline_exceeded"
  | "drain_deadline_exceeded"
  | "redelivery_pending"
  | "audit_invalid_argument"
  | "audit_unsupported_driver"
  | "audit_write_failed";

const KOPER_ERROR = Symbol.for("koper.error");

/** Options shared by every Koper error. */
export interface KoperErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/**
 * Base of all Koper errors. `retriable` says whether doing the same thing again may succeed
 * (as kafkajs marks its errors), so retry logic asks the error instead of guessing.
 */
export class KoperError extends Error {
  readonly code: KoperErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;
  readonly [KOPER_ERROR] = true;

  constructor(code: KoperErrorCode, message: string, options: KoperErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

/** True for any Koper error, even one thrown by another loaded copy of `@koper/core`. */
export function isKoperError(value: unknown): value is KoperError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[KOPER_ERROR] === true;
}

/** Bad configuration or bad arguments: fix the call, retrying changes nothing. */
export class ConfigError extends KoperError {
  static invalidTopic(topic: string, reason: string): ConfigError {
    return new ConfigError(
      "invalid_topic",
      `Invalid topic name ${JSON.stringify(topic)}: ${reason}. ` +
        "Use 1 to 249 characters of [a-zA-Z0-9._-], not '.' or '..'.",
      { details: { topic } },
    );
  }

  static auditOff(): ConfigError {
    return new ConfigError(
      "invalid_config",
      "koper.audit is not available: no adapter has the audit on. Attach one with `audit: true` " +
        "(koperTypeorm / koperMikroOrm / koperPrisma), or build an AuditLog on a SqlClient.",
    );
  }

  static invalidOption(option: string, reason: string): ConfigError {
    return new ConfigError("invalid_config", `Invalid Koper option "${option}": ${reason}.`, { details: { option } });
  }
}

/** A listener that Koper cannot route to: raised by `register` and `start`, never at delivery time. */
export class ListenerError extends KoperError {
  static unknownHandler(listener: string, method: string, expected: string[]): ListenerError {
    return new ListenerError(
      "invalid_listener",
      `${listener}.${method} matches no action of this listener's entities. ` +
        `Handler names look like ${expected.slice(0, 4).join(", ")}${expected.length > 4 ? ", …" : ""}; ` +
        "rename the method, or move a helper off the on<Upper> naming.",
      { details: { listener, method } },
    );
  }

  static notAListener(what: string): ListenerError {
    return new ListenerError(
      "invalid_listener",
      `${what} is not a Koper listener. Decorate its class with @Listen({ topic }) or @DataListener({ entity }), ` +
        "or build it with listen(...) / dataListener(...).",
    );
  }

  static noHandlers(listener: string, why: string): ListenerError {
    return new ListenerError("invalid_listener", `${listener} has no handler: ${why}.`, { details: { listener } });
  }
}

/** Publishing failed or was refused. */
export class PublishError extends KoperError {
  static payloadTooLarge(topic: string, size: number, limit: number): PublishError {
    return new PublishError(
      "payload_too_large",
      `Message for topic "${topic}" is ${size} bytes, over the ${limit}-byte limit. ` +
        "Exclude large columns with `redact`, or raise `maxPayloadBytes` (and the broker's message.max.bytes).",
      { details: { topic, size, limit } },
    );
  }

  static stopped(): PublishError {
    return new PublishError("stopped", "Koper is stopped: it takes no new messages.");
  }

  static transportFailed(topic: string, cause: unknown): PublishError {
    return new PublishError("transport_failed", `Publishing to "${topic}" failed: ${messageOf(cause)}`, {
      retriable: true,
      cause,
      details: { topic },
    });
  }
}

/** Bytes that are not a valid Koper message, or a value that cannot become one. */
export class EnvelopeError extends KoperError {
  static unencodable(path: string, what: string): EnvelopeError {
    return new EnvelopeError(
      "unencodable_value",
      `Cannot encode ${what} at ${path || "(root)"}: Koper messages carry JSON values, Date, bigint, ` +
        "Buffer/Uint8Array and undefined. Convert it to one of those first.",
      { details: { path } },
    );
  }

  static invalid(reason: string, cause?: unknown): EnvelopeError {
    return new EnvelopeError("invalid_envelope", `Not a valid Koper data event: ${reason}`, { cause, details: { reason } });
  }

  static invalidPayload(topic: string, reason: string, cause?: unknown): EnvelopeError {
    return new EnvelopeError("invalid_payload", `Message on "${topic}" failed its listener's schema: ${reason}`, {
      cause,
      details: { topic, reason },
    });
  }
}

/** The capture API was called out of order by an adapter. */
export class CaptureError extends KoperError {
  static noOpenTransaction(op: string): CaptureError {
    return new CaptureError(
      "capture_misuse",
      `capture.${op}() was called for a transaction that capture.begin() never opened (or that already ended).`,
    );
  }
}

/** Stopping did not finish in time. */
export class StopError extends KoperError {
  /** `ids`: every message not handled, each also reported by a `publish_failed` or `dropped` lifecycle event. */
  static deadlineExceeded(deadlineMs: number, ids: string[]): StopError {
    return new StopError(
      "stop_deadline_exceeded",
      `koper.stop() gave up after ${deadlineMs} ms with ${ids.length} message(s) not handled ` +
        "(listed in details.ids, each reported as publish_failed or dropped). " +
        "A handler did not return in time; raise `stop({ deadlineMs })` or make handlers time out.",
      { details: { deadlineMs, unfinished: ids.length, ids } },
    );
  }
}

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
}

/** A delivered message was not run, so the transport must deliver it again. */
export class DeliveryError extends KoperError {
  /** An earlier message of the same key was rejected: this one waits for that one's redelivery. */
  static heldBehindRejected(cause: unknown): DeliveryError {
    return new DeliveryError(
      "redelivery_pending",
      "Not handled: an earlier message with the same key could not be handled and will be delivered again; " +
        "this one follows it, so the key's events stay in order.",
      { retriable: true, cause },
    );
  }
}

/** The audit log was called with arguments it cannot use, or on a client it cannot drive. */
export class AuditError extends KoperError {
  static invalidArgument(what: string, reason: string): AuditError {
    return new AuditError("audit_invalid_argument", `Invalid ${what} for the audit log: ${reason}.`, { details: { what } });
  }

  static failedAttemptsNotWritten(ids: readonly string[], cause: unknown): AuditError {
    const reason = cause instanceof Error ? cause.message.trim() || cause.name : String(cause);
    return new AuditError(
      "audit_write_failed",
      `The audit rows of ${ids.length} failed attempt(s) could not be written: ${reason}. The data was not changed by ` +
        "them (they failed) and their failure events were published; check that the audit table exists and is writable.",
      { cause, retriable: true, details: { ids: [...ids] } },
    );
  }

  static unsupportedDriver(what: string): AuditError {
    return new AuditError(
      "audit_unsupported_driver",
      `sqlClientFrom() cannot drive ${what}. Pass a pg Pool or Client, a mysql2 pool or connection ` +
        "(promise or callback API), or a node:sqlite DatabaseSync; or implement SqlClient yourself.",
      { details: { what } },
    );
  }
}
