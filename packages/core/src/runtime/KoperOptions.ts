import type { SqlClient } from "../capture/in-transaction.ts";
import type { RedactOptions } from "../capture/redact.ts";
import type { ContextSupplier } from "../context/context.ts";
import type { TopicOptions } from "../envelope/topics.ts";
import type { WireVersion } from "../envelope/wire.ts";
import type { LoggerLike } from "../observability/logger.ts";
import type { Transport } from "../transports/Transport.ts";
import type { OutboxOptions } from "../outbox/index.ts";
import type { RetryOptions } from "./RetryPolicy.ts";

/** Everything `new Koper(options)` takes; every field has a default. */
export interface KoperOptions {
  /** How messages move. Default: a new `InProcessTransport`. */
  transport?: Transport;
  /** Names this process in lifecycle events and transports. Default "koper". */
  clientId?: string;
  /** Service name stamped in `event.source.service`. */
  service?: string;
  /** Topic naming of data events. Default `koper.<Entity>`. */
  topics?: TopicOptions;
  /** Fields removed or masked per entity before an event leaves the process. */
  redact?: RedactOptions;
  /** Largest encoded message. Default 1,000,000 bytes (Kafka's default message.max.bytes). */
  maxPayloadBytes?: number;
  /**
   * Envelope version data events are written in on a transport that sends bytes: 2 (default, the
   * compact form) or 1, for a fleet where some consumers still run a Koper that reads only v1.
   * Every consumer of this version reads both.
   */
  envelopeVersion?: WireVersion;
  /** Default retry policy of listeners. */
  retry?: RetryOptions;
  /** Default number of keys a listener handles at once. Default 16. */
  concurrency?: number;
  /** How long `stop()` waits for in-flight work. Default 10,000 ms. */
  stopDeadlineMs?: number;
  /** Messages the producer queues before publishers wait (backpressure). Default 10,000. */
  maxQueuedMessages?: number;
  /** Most messages the producer puts in one transport call. Default 1,000. */
  maxBatchMessages?: number;
  /**
   * Supplies context when a write is captured or a message sent, e.g. `() => ({ actor: cls.get("user") })`;
   * `runWith`'s fields win over it. A supplier that throws supplies nothing (the event still goes).
   */
  context?: ContextSupplier;
  /** Where Koper and its transport (kafkajs included) log: `console`, pino, … Default: warnings and errors to `console`. */
  logger?: LoggerLike;
  /**
   * The transactional outbox on a SqlClient (a relay-only process, or a plain driver). Adapters take
   * `outbox: true` instead and attach it with their ORM's client.
   */
  outbox?: OutboxOptions & { client: SqlClient };
}
