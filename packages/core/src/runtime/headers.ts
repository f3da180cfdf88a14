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

/** Content type of values written with Koper's codec (and of data events in envelope v1). */
export const CONTENT_TYPE = "application/vnd.koper.v1+json";

/** Content type of data events in envelope v2 (`wire-v2.ts`). */
export const CONTENT_TYPE_V2 = "application/vnd.koper.v2+json";
