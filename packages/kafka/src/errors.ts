import { PublishError } from "@koper/core";

/**
 * Whether a kafkajs error says a later retry may succeed. kafkajs marks its errors with `retriable`;
 * when its own retries ran out it throws a non-retriable KafkaJSNumberOfRetriesExceeded around the
 * real error, whose verdict (a refused connection: yes; an invalid topic: no) is the one that counts.
 */
function retriableOf(cause: unknown): boolean {
  if (typeof cause !== "object" || cause === null) return false;
  const error = cause as { name?: unknown; retriable?: unknown; cause?: unknown };
  if (error.name === "KafkaJSNumberOfRetriesExceeded" && error.cause !== undefined) return retriableOf(error.cause);
  return error.retriable === true;
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * A Kafka transport failure: a `PublishError` (so `isKoperError` and `code` work as for every
 * Koper error) whose `retriable` comes from the kafkajs error that caused it.
 */
export class KafkaTransportError extends PublishError {
  /** kafkajs gave up sending a batch (after its own retries). */
  static sendFailed(topics: readonly string[], cause: unknown): KafkaTransportError {
    return new KafkaTransportError(
      "transport_failed",
      `Sending to ${topics.map((t) => JSON.stringify(t)).join(", ")} failed: ${messageOf(cause)}. ` +
        "Check that the brokers are reachable; raise `retry.retries` to ride out longer outages.",
      { retriable: retriableOf(cause), cause, details: { topics: [...topics] } },
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

  /** The transport was closed: it sends nothing more. */
  static closed(): KafkaTransportError {
    return new KafkaTransportError("stopped", "The Kafka transport is closed: it sends nothing more.");
  }
}
