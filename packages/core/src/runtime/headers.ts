import type { DataEvent } from "../envelope/DataEvent.ts";
/** Header names Koper writes on every message. */
export const Headers = {
  id: "koper-id",
  entity: "koper-entity",
  action: "koper-action",
  sentAt: "koper-sent-at",
  contentType: "content-type",
  traceparent: "traceparent",
  /** JSON of the sender's context (actor, request id, extras) on plain messages. */
  context: "koper-context",
  dlqReason: "koper-dlq-reason",
  dlqError: "koper-dlq-error",
  dlqAttempts: "koper-dlq-attempts",
  dlqListener: "koper-dlq-listener",
  dlqGroup: "koper-dlq-group",
  originalTopic: "koper-original-topic",
  originalPartition: "koper-original-partition",
  originalOffset: "koper-original-offset",
} as const;

/** Content type of values written with Koper's codec. */
export const CONTENT_TYPE = "application/vnd.koper.v1+json";

/** A data event's message headers. Few: Kafka clients pay per header, and the body already says the rest. */
export function eventHeaders(event: DataEvent): Record<string, string> {
  const headers: Record<string, string> = {
    [Headers.id]: event.id,
    [Headers.entity]: event.entity,
    [Headers.action]: event.action,
    [Headers.contentType]: CONTENT_TYPE,
  };
  if (event.trace) headers[Headers.traceparent] = event.trace.traceparent;
  return headers;
}
