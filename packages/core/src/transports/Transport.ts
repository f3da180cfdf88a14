import type { KoperLogger } from "../observability/logger.ts";

/** A message on its way out: bytes plus routing. */
export interface OutgoingMessage {
  topic: string;
  /** Routing key: messages of one key keep their order. */
  key: string | null;
  value: Uint8Array;
  headers: Record<string, string>;
  /**
   * The event Koper built, in decoded form, for a transport that delivers in this process
   * (`Transport.inProcess`): its listeners copy it instead of decoding `value`. Never on the wire.
   */
  event?: object;
}

/**
 * What a transport's `send` may return when it accepted the whole batch before returning (the
 * in-process transport, when no group is `capacity` behind): the producer then settles the batch
 * at once instead of a promise reaction later. Any other promise is awaited as usual.
 */
export const ACCEPTED: Promise<void> = Promise.resolve();

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
  /** Delivers in this process and keeps `OutgoingMessage.event`: the producer then encodes `value` only when it is read. */
  readonly inProcess?: boolean;
  connect(): Promise<void>;
  /** Sends a batch; resolves when the transport has accepted every message (waits when full). */
  send(messages: OutgoingMessage[]): Promise<void>;
  subscribe(subscription: Subscription): Promise<SubscriptionHandle>;
  /**
   * Resolves once every message accepted before the call has been handed to a subscriber and finished
   * (messages accepted later do not delay it). An in-memory transport waits for all of them; a broker
   * transport (Kafka) for this process's own subscribers of the topics it sent to, with a deadline of
   * its own (rejecting with a `drain_deadline_exceeded` error). `settle()` and `stop()` call it.
   */
  drain?(): Promise<void>;
  /**
   * Messages accepted and not yet handed to a consuming group, which closing now would lose.
   * Only in-memory transports have it; Koper reports them (`dropped`, reason "stopped") when stop() gives up.
   */
  unfinished?(): DeliveredMessage[];
  close(): Promise<void>;
  /** Koper hands the transport its logger when constructed, so the transport's logs (and its client's) go there too. */
  useLogger?(logger: KoperLogger): void;
}
