import { PublishError } from "@koper/core";

// Socket errors a later attempt may not meet: the broker restarts, the network comes back.
const TRANSIENT_SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ECONNABORTED"]);

/**
 * Whether a Kafka client's error says a later retry may succeed, judged by its innermost cause. kafkajs
 * wraps the real error whenever one of its retriers gives up, and its nested retriers wrap the
 * wrapper again: a refused connection arrives as a non-retriable KafkaJSNumberOfRetriesExceeded or
 * KafkaJSNonRetriableError around the KafkaJSConnectionError. The innermost error is the one that
 * happened (a refused connection: yes; an invalid topic or a too-large message: no).
 */
export function retriableOf(cause: unknown): boolean {
  const innermost = innermostOf(cause);
  if (typeof innermost !== "object" || innermost === null) return false;
  const error = innermost as { retriable?: unknown; code?: unknown; errors?: unknown };
  // KafkaJSAggregateError (several topics at once): retriable only if every part is.
  if (Array.isArray(error.errors) && error.errors.length > 0) return error.errors.every(retriableOf);
  if (typeof error.retriable === "boolean") return error.retriable;
  // @platformatic/kafka's errors say it as `canRetry`.
  const canRetry = (innermost as { canRetry?: unknown }).canRetry;
  if (typeof canRetry === "boolean") return canRetry;
  return typeof error.code === "string" && TRANSIENT_SOCKET_CODES.has(error.code);
}

/** Whether a Kafka client's error comes down to a topic the broker does not have (UNKNOWN_TOPIC_OR_PARTITION). */
export function isUnknownTopic(error: unknown): boolean {
  return brokerErrorOf(error) === "UNKNOWN_TOPIC_OR_PARTITION";
}

/**
 * The broker's error name behind a client error: kafkajs's innermost `type`, or the `apiId` of a
 * @platformatic/kafka protocol error, which may sit in a `MultipleErrors` list (first one found).
 */
export function brokerErrorOf(error: unknown): string | undefined {
  const innermost = innermostOf(error) as { type?: unknown } | null;
  if (typeof innermost?.type === "string") return innermost.type;
  return apiIdOf(error, 0);
}

function apiIdOf(error: unknown, depth: number): string | undefined {
  if (typeof error !== "object" || error === null || depth > 8) return undefined;
  const e = error as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.apiId === "string") return e.apiId;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = apiIdOf(inner, depth + 1);
      if (found) return found;
    }
  }
  return e.cause === error ? undefined : apiIdOf(e.cause, depth + 1);
}

function innermostOf(error: unknown): unknown {
  let current = error;
  // Bounded: a cause chain could loop.
  for (let depth = 0; depth < 16; depth++) {
    const next = typeof current === "object" && current !== null ? (current as { cause?: unknown }).cause : undefined;
    if (typeof next !== "object" || next === null || next === current) return current;
    current = next;
  }
  return current;
}

// Advice that fits the failure: an outage wants patience, a refused message wants a change.
function sendHint(cause: unknown, retriable: boolean): string {
  if (retriable) return "Check that the brokers are reachable; raise `retry.retries` to ride out longer outages.";
  if (brokerErrorOf(cause) === "MESSAGE_TOO_LARGE") {
    return "A message is bigger than the broker's message.max.bytes: shrink it, or raise the broker's (and the topic's max.message.bytes) limit; the transport already splits sends at `maxBatchBytes`.";
  }
  return "Retrying will not help.";
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * A Kafka transport failure: a `PublishError` (so `isKoperError` and `code` work as for every
 * Koper error) whose `retriable` comes from the client's (kafkajs's or @platformatic/kafka's) error that caused it.
 */
export class KafkaTransportError extends PublishError {
  /** The client gave up sending a batch (after its own retries). */
  static sendFailed(topics: readonly string[], cause: unknown): KafkaTransportError {
    const retriable = retriableOf(cause);
    return new KafkaTransportError(
      "transport_failed",
      `Sending to ${topics.map((t) => JSON.stringify(t)).join(", ")} failed: ${messageOf(cause)}. ${sendHint(cause, retriable)}`,
      { retriable, cause, details: { topics: [...topics] } },
    );
  }

  /** Creating a missing topic failed. */
  static createTopicsFailed(topics: readonly string[], cause: unknown): KafkaTransportError {
    return new KafkaTransportError(
      "transport_failed",
      `Creating topic(s) ${topics.map((t) => JSON.stringify(t)).join(", ")} failed: ${messageOf(cause)}. ` +
        "Create them yourself and pass `createTopics: false`, or give the client the right to create topics.",
      { retriable: retriableOf(cause), cause, details: { topics: [...topics] } },
    );
  }

  /** The producer (or admin client) could not connect. */
  static connectFailed(brokers: string, cause: unknown): KafkaTransportError {
    return new KafkaTransportError(
      "transport_failed",
      `Connecting to Kafka at ${brokers} failed: ${messageOf(cause)}. Check \`brokers\`, TLS (\`ssl\`) and SASL (\`sasl\`) options.`,
      { retriable: retriableOf(cause), cause, details: { brokers } },
    );
  }

  /** A consumer group member could not join or subscribe. */
  static subscribeFailed(group: string, topics: readonly string[], cause: unknown): KafkaTransportError {
    return new KafkaTransportError(
      "transport_failed",
      `Consumer group "${group}" could not subscribe to ${topics.map((t) => JSON.stringify(t)).join(", ")}: ${messageOf(cause)}.`,
      { retriable: retriableOf(cause), cause, details: { group, topics: [...topics] } },
    );
  }

  /** `drain()` gave up: this process's consumers had not finished what it produced in time. */
  static drainDeadlineExceeded(
    timeoutMs: number,
    behind: { group: string; topic: string; partition: number; finished: string; end: string; joining: boolean }[],
  ): KafkaTransportError {
    const list = behind.map((b) => `${b.group} on ${b.topic}/${b.partition} ${b.joining ? "(still joining its group)" : `at ${b.finished} of ${b.end}`}`);
    return new KafkaTransportError(
      "drain_deadline_exceeded",
      `This process's consumers did not finish the messages it produced within ${timeoutMs} ms: ${list.join("; ")}. ` +
        "A handler is slow or stuck, or a group is rebalancing; raise `drainTimeoutMs` or look at the handler.",
      { retriable: true, details: { timeoutMs, behind } },
    );
  }

  /** `@koper/kafka/platformatic` on a Node that @platformatic/kafka does not support. */
  static unsupportedNode(version: string, supported: string): KafkaTransportError {
    return new KafkaTransportError(
      "invalid_config",
      `PlatformaticKafkaTransport needs Node ${supported} (@platformatic/kafka's floor); this is ${version}. ` +
        "Upgrade Node, or use KafkaTransport from @koper/kafka (kafkajs, Node >= 20.19).",
      { details: { version, supported } },
    );
  }

  /** The transport was closed: it sends nothing more. */
  static closed(): KafkaTransportError {
    return new KafkaTransportError("stopped", "The Kafka transport is closed: it sends nothing more.");
  }
}
