/** Kafka protocol error codes the broker answers with (a subset of Kafka's `Errors` enum). */
export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  MESSAGE_TOO_LARGE: 10,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
} as const;

/** One of the numeric Kafka error codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Machine-readable reasons a {@link BrokerError} carries. */
export type BrokerErrorCode = "protocol_error" | "invalid_option" | "listen_failed" | "already_started" | "data_dir_failed";

// Marked with a global symbol instead of relying on instanceof: two copies of the package may be loaded.
const BROKER_ERROR = Symbol.for("koper.error");

/** The base error of `@koper/kafka-broker`: a code, whether retrying can help, and the cause. */
export class BrokerError extends Error {
  /** Marks Koper errors across package copies. */
  readonly [BROKER_ERROR] = true;

  constructor(
    message: string,
    readonly code: BrokerErrorCode,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** An option passed to startBroker() is out of range. */
  static invalidOption(name: string, value: unknown, expected: string): BrokerError {
    return new BrokerError(`startBroker(): option "${name}" is ${String(value)}; expected ${expected}.`, "invalid_option", false);
  }

  /** The TCP server could not listen, usually because the port is taken. */
  static listenFailed(host: string, port: number, cause: unknown): BrokerError {
    return new BrokerError(
      `Kafka broker could not listen on ${host}:${port}; pick another port or pass port 0 for a free one.`,
      "listen_failed",
      true,
      { cause },
    );
  }

  /** A `state` object is already served by a running broker. */
  static stateInUse(): BrokerError {
    return new BrokerError(
      "This broker state is still served by a running broker; await broker.stop() before starting another broker with it.",
      "already_started",
      false,
    );
  }
}

/** The data directory cannot be used. */
export class DataDirError extends BrokerError {
  /** Another running broker holds the directory's lock. */
  static inUse(dir: string, pid: number): DataDirError {
    return new DataDirError(
      `Data directory ${dir} is in use by a running broker (pid ${pid}); stop it first, or give this broker another --data-dir.`,
      "already_started",
      false,
    );
  }

  /** Reading or writing the directory failed. */
  static failed(dir: string, cause: unknown): DataDirError {
    return new DataDirError(`Data directory ${dir} cannot be used: ${cause instanceof Error ? cause.message : String(cause)}.`, "data_dir_failed", false, { cause });
  }
}

/** A request frame that cannot be decoded; the connection that sent it gets closed. */
export class ProtocolError extends BrokerError {
  /** The frame ended before a field it announced. */
  static truncated(wanted: number, left: number): ProtocolError {
    return new ProtocolError(`Truncated Kafka request: wanted ${wanted} more bytes, ${left} left.`, "protocol_error", false);
  }

  /** The frame announces a length the broker refuses to buffer. */
  static frameTooLarge(size: number, limit: number): ProtocolError {
    return new ProtocolError(`Kafka request frame of ${size} bytes is outside 0..${limit}; closing the connection.`, "protocol_error", false);
  }

  /** The API key or version is not one this broker serves. */
  static unsupported(apiKey: number, apiVersion: number): ProtocolError {
    return new ProtocolError(`Unsupported Kafka API key ${apiKey} version ${apiVersion}; closing the connection as Kafka does.`, "protocol_error", false);
  }
}

/** Tells whether a value is an error raised by a Koper package (works across package copies). */
export function isBrokerError(value: unknown): value is BrokerError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BROKER_ERROR] === true;
}
