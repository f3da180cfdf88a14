export { Koper } from "./runtime/Koper.ts";
export type { KoperOptions } from "./runtime/Koper.ts";
export type { MessageSender, SendOptions } from "./runtime/Producer.ts";
export { routingKey } from "./runtime/Producer.ts";
export { Listen, DataListener, listen, dataListener, isListener, FRAMEWORK_LIFECYCLE_METHODS } from "./runtime/listeners.ts";
export type {
  ListenOptions,
  DataListenerOptions,
  ListenerOptions,
  MessageMeta,
  EntityRef,
  DataHandlerName,
  DataHandlers,
  DataListenerOf,
  RowHandler,
  BulkHandler,
  HandlerAction,
  ListenerDecorator,
  DataListenerDecorator,
  FrameworkLifecycleMethod,
} from "./runtime/listeners.ts";
export { RetryPolicy } from "./runtime/RetryPolicy.ts";
export type { StandardSchemaV1, StandardResult, StandardIssue } from "./runtime/standard-schema.ts";
export type { RetryOptions } from "./runtime/RetryPolicy.ts";
export { Headers, CONTENT_TYPE, CONTENT_TYPE_V2 } from "./runtime/headers.ts";

export { DataEvent, DataEventSchema, SPEC_VERSION, Action, Outcome, Row, EventError, Source, Bulk, BulkCriteria, TimePoints } from "./envelope/DataEvent.ts";
export { encode, decode } from "./envelope/codec.ts";
export { encodeEvent, decodeEvent } from "./envelope/wire.ts";
export type { WireVersion } from "./envelope/wire.ts";
export { newId } from "./envelope/ids.ts";
export { validateTopic, topicResolver, deadLetterTopic } from "./envelope/topics.ts";
export type { TopicOptions } from "./envelope/topics.ts";
export { isTraceparent, childTraceparent } from "./envelope/trace.ts";

export { ChangeCapture } from "./capture/ChangeCapture.ts";
export type { CaptureSink, TxHandle, BeginOptions } from "./capture/ChangeCapture.ts";
export type { SqlDialect, TxExecutor, SqlClient, InTransactionWriter } from "./capture/in-transaction.ts";
export { ensureOutboxTable } from "./outbox/index.ts";
export type { OutboxOptions } from "./outbox/index.ts";
export { OutboxRelay } from "./outbox/OutboxRelay.ts";
export type { OutboxRelayOptions } from "./outbox/OutboxRelay.ts";
export { SqlOutboxStore, bucketOf } from "./outbox/OutboxStore.ts";
export type { OutboxStore, SqlOutboxStoreOptions, OutboxRow, PendingRow } from "./outbox/OutboxStore.ts";
export { OutboxWriter } from "./outbox/OutboxWriter.ts";
export { listenOnPool } from "./outbox/pg-listen.ts";
export type { PgListenOptions, PgPoolClientLike, PgPoolLike } from "./outbox/pg-listen.ts";
export { SqlInboxStore, inboxTransaction } from "./inbox/SqlInboxStore.ts";
export type { InboxStore } from "./inbox/SqlInboxStore.ts";
export type { ChangeDraft, BulkDraft, BuildOptions } from "./capture/build-event.ts";
export { classifyFailure, toEventError } from "./capture/database-errors.ts";
export type { FailureCode, DriverErrorInfo } from "./capture/database-errors.ts";
export {
  isDeadlock,
  failureAbortsTransaction,
  databaseFamily,
  entityFilter,
  unknownEntityNames,
  runSilenced,
  isSilenced,
} from "./capture/policy.ts";
export type { DatabaseFamily, EntitySelection } from "./capture/policy.ts";
export { methodOwner } from "./capture/patching.ts";
export { MASK } from "./capture/redact.ts";
export type { RedactOptions, RedactRule, CriteriaDraft, SqlCriteriaDraft } from "./capture/redact.ts";

export { runWithContext, currentContext } from "./context/context.ts";
export type { KoperContext, ContextSupplier } from "./context/context.ts";

export { LifecycleEvents } from "./observability/Lifecycle.ts";
export type { LifecycleEvent, LifecycleType, LifecyclePayloads, Identity, Delivery } from "./observability/Lifecycle.ts";
export type { MetricsSnapshot, Stage, StageLatency } from "./observability/Metrics.ts";
export { createLogger } from "./observability/logger.ts";
export type { KoperLogger, LoggerLike, LogLevel } from "./observability/logger.ts";

export { InProcessTransport } from "./transports/InProcessTransport.ts";
export type { InProcessTransportOptions } from "./transports/InProcessTransport.ts";
export type { Transport, OutgoingMessage, DeliveredMessage, Subscription, SubscriptionHandle } from "./transports/Transport.ts";

export { AuditLog } from "./audit/AuditLog.ts";
export type { AuditLogOptions, AuditKey, AuditPoint, ChangesQuery, ChangesPage } from "./audit/AuditLog.ts";
export { AuditStore } from "./audit/AuditStore.ts";
export type { AuditStoreOptions, AuditOptions } from "./audit/AuditStore.ts";
export type { AuditEntry, AuditVersion, AuditAction, FieldChange } from "./audit/entries.ts";
export { FORGOTTEN } from "./audit/forget.ts";
export type { ForgetResult, ReferenceRule } from "./audit/forget.ts";
export { AUDIT_TABLE, auditMigration, auditMigrationSql, ensureAuditTable } from "./audit/schema.ts";
export { sqlClientFrom } from "./audit/sql-client-from.ts";

export {
  KoperError,
  ConfigError,
  ListenerError,
  PublishError,
  EnvelopeError,
  CaptureError,
  StopError,
  DeliveryError,
  AuditError,
  isKoperError,
} from "./errors.ts";
export type { KoperErrorCode, KoperErrorOptions } from "./errors.ts";
