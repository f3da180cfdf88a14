import type { KoperLogger } from "../observability/logger.ts";

/** A message on its way out: bytes plus routing. */
export interface OutgoingMessage {
  topic: string;
  /** Routing key: messages of one key keep their order. */
  key: string | null;
  value: Uint8Array;
  headers: Record<string, string>;
}

/** A message as a transport delivers it. */
export interface DeliveredMessage extends OutgoingMessage {
  partition: number;
  /** Position in the partition, as a decimal string (Kafka offsets exceed 2^53). */
  offset: string;
  /** When the transport accepted it, epoch ms. */
  timestamp: number;
}

/** One member of a consumer group, as the listener runtime asks a transport for it. */
export interface Subscription {
  group: string;
  topics: readonly string[];
  /**
   * Called once per message, in order within a key. Resolves when the message is done (handled,
   * or dead-lettered); only then may the transport commit it. Rejects when it could be neither:
   * the transport must then deliver the message again (or report it, where it cannot).
   */
  handle(message: DeliveredMessage): Promise<void>;
  /** Most messages handed to `handle` and not yet done. */
  maxInFlight: number;
}

/** A running subscription. */
export interface SubscriptionHandle {
  /** Stops taking messages and resolves when those handed out are done (and committed). */
  close(): Promise<void>;
}

/** How Koper moves bytes: in-process (default), Kafka, or another broker. */
export interface Transport {
  /** Short name for logs and lifecycle events ("in-process", "kafka"). */
  readonly name: string;
  connect(): Promise<void>;
  /** Sends a batch; resolves when the transport has accepted every message (waits when full). */
  send(messages: OutgoingMessage[]): Promise<void>;
  subscribe(subscription: Subscription): Promise<SubscriptionHandle>;
  /**
   * Resolves once every message accepted so far has been handed to a subscriber and finished.
   * Only transports that hold messages in memory need it; `stop()` calls it before closing.
   */
  drain?(): Promise<void>;
  close(): Promise<void>;
  /** Koper hands the transport its logger when constructed, so the transport's logs (and its client's) go there too. */
  useLogger?(logger: KoperLogger): void;
}
