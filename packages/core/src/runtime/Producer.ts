import type { CaptureSink } from "../capture/ChangeCapture.ts";
import { now } from "../capture/build-event.ts";
import { captureContext, type ContextSupplier, type KoperContext } from "../context/context.ts";
import { encode } from "../envelope/codec.ts";
import type { DataEvent } from "../envelope/DataEvent.ts";
import { newId } from "../envelope/ids.ts";
import { isPlainCaptured, isPlainEvent } from "../envelope/envelope-check.ts";
import { snapshotCaptured } from "../envelope/local-copy.ts";
import { LocalEvent } from "../envelope/LocalEvent.ts";
import { validateTopic } from "../envelope/topics.ts";
import { encodeEvent, type WireVersion } from "../envelope/wire.ts";
import { childTraceparent, isTraceparent } from "../envelope/trace.ts";
import { isKoperError, PublishError } from "../errors.ts";
import type { Lifecycle } from "../observability/Lifecycle.ts";
import type { KoperLogger } from "../observability/logger.ts";
import type { Metrics } from "../observability/Metrics.ts";
import type { OutgoingMessage, Transport } from "../transports/Transport.ts";
import { CONTENT_TYPE, Headers } from "./headers.ts";
import { LocalMessage } from "./LocalMessage.ts";

/** What the producer reports of a data event sent: its id and time points. */
export type SentEvent = Pick<DataEvent, "id" | "time">;
import { SendQueue } from "./SendQueue.ts";

/** Options of `sender.send`. */
export interface SendOptions {
  /** Routing key: messages with one key keep their order. */
  key?: string;
  headers?: Record<string, string>;
}

/** Sends plain messages: `koper.sender.send(topic, payload)`. */
export interface MessageSender {
  /** Encodes and sends one message; resolves with its id once the transport accepted it. */
  send(topic: string, payload: unknown, options?: SendOptions): Promise<string>;
}

interface ProducerDeps {
  transport: Transport;
  topicFor: (entity: string) => string;
  maxPayloadBytes: number;
  /** Envelope version of data events sent as bytes (an in-process transport sends none). */
  envelopeVersion: WireVersion;
  metrics: Metrics;
  lifecycle: Lifecycle;
  /** Where a failure nobody subscribed to is reported. */
  logger: KoperLogger;
  /** Connects the transport once; rejects when Koper is stopped; undefined once connected (nothing to wait for). */
  ready: () => Promise<void> | undefined;
  /** Messages queued before publishers wait. */
  maxQueuedMessages: number;
  /** Most messages in one transport call. */
  maxBatchMessages: number;
  /** Capture-time context supplier (Koper's `context` option). */
  context?: ContextSupplier | undefined;
  /** Told the ids of every message that was not published (besides the `publish_failed` event). */
  failed?: (ids: string[]) => void;
}

/** The one producer of a Koper instance: data events from the capture, plain messages from the sender. */
export class Producer implements CaptureSink, MessageSender {
  readonly #deps: ProducerDeps;

  readonly #queue: SendQueue;
  #refusing = false;
  #accepted = 0;

  constructor(deps: ProducerDeps) {
    this.#deps = deps;
    this.#queue = new SendQueue(
      (messages) => {
        const connecting = deps.ready();
        return connecting ? connecting.then(() => deps.transport.send(messages)) : deps.transport.send(messages);
      },
      { maxQueued: deps.maxQueuedMessages, maxBatch: deps.maxBatchMessages },
    );
  }

  async send(topic: string, payload: unknown, options: SendOptions = {}): Promise<string> {
    validateTopic(topic);
    const id = newId();
    const message: OutgoingMessage = {
      topic,
      key: options.key ?? null,
      value: this.#encode(topic, payload),
      headers: {
        ...contextHeaders(captureContext(this.#deps.context)),
        ...options.headers,
        [Headers.id]: id,
        [Headers.contentType]: CONTENT_TYPE,
        [Headers.sentAt]: String(now()),
      },
    };
    try {
      if (this.#refusing) throw PublishError.stopped();
      this.#accepted++;
      await this.#queue.send([message]);
    } catch (error) {
      this.#deps.metrics.count("publishFailed");
      this.#deps.failed?.([id]);
      throw asPublishError(topic, error);
    }
    this.#deps.metrics.count("published");
    this.#deps.lifecycle.emit("published", "producer", { topic, ids: [id], count: 1 });
    return id;
  }

  /**
   * Queues data events for one transport batch, in order behind everything published before;
   * resolves once they are queued. Never rejects: failures become lifecycle events.
   */
  publish(events: DataEvent[]): Promise<void> {
    // Sized once (a push onto [] reserves 16 slots); `sent` is `events` itself unless one fails.
    const messages = new Array<OutgoingMessage>(events.length);
    let sent = events;
    let n = 0;
    const published = now();
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      event.time.published = published;
      const topic = this.#deps.topicFor(event.entity);
      let message: OutgoingMessage;
      try {
        message = this.#toMessage(topic, event);
      } catch (error) {
        if (sent === events) sent = events.slice(0, i);
        this.#failed(topic, [event], error);
        continue;
      }
      messages[n++] = message;
      if (sent !== events) sent.push(event);
    }
    if (n < messages.length) messages.length = n;
    if (messages.length === 0) return Promise.resolve();
    if (this.#refusing) {
      for (const [topic, group] of byTopic(messages, sent)) this.#failed(topic, group, PublishError.stopped());
      return Promise.resolve();
    }
    this.#accepted += messages.length;
    return this.#queue.enqueue(messages, (error) => {
      if (error === undefined) return this.#sent(messages, sent);
      for (const [topic, group] of byTopic(messages, sent)) this.#failed(topic, group, asPublishError(topic, error));
    });
  }

  /** How many messages were queued so far (data events, plain messages and dead letters). */
  get accepted(): number {
    return this.#accepted;
  }

  /**
   * Sends data-event messages built elsewhere (the outbox relay's, from stored events; `sent[i]` is
   * `messages[i]`'s event) and resolves once the transport accepted them all, or rejects with its
   * error (the relay then retries them).
   */
  async deliver(messages: OutgoingMessage[], sent: readonly SentEvent[]): Promise<void> {
    if (messages.length === 0) return;
    await this.#queue.send(messages);
    this.#sent(messages, sent);
  }

  /** Reports events that can never be sent (e.g. too large) as `publish_failed`. */
  unsendable(topic: string, ids: string[], error: Error): void {
    this.#failed(topic, ids.map((id) => ({ id })), error);
  }

  /** Resolves when everything queued so far has been sent or reported failed. */
  flush(): Promise<void> {
    return this.#queue.flush();
  }

  /** Resolves once what was queued before this call has been sent or reported failed (later sends do not delay it). */
  flushQueued(): Promise<void> {
    return new Promise<void>((resolve) => void this.#queue.enqueue([], () => resolve()));
  }

  /** From now on, new data events and messages are refused and reported (`publish_failed`); dead letters still go. */
  refuse(): void {
    this.#refusing = true;
  }

  /** Fails everything still queued and not yet handed to the transport; returns how many messages that was. */
  abort(): number {
    return this.#queue.abort(PublishError.stopped());
  }

  #sent(messages: OutgoingMessage[], sent: readonly SentEvent[]): void {
    this.#deps.metrics.count("published", sent.length);
    for (const event of sent) {
      this.#deps.metrics.latency("commit", event.time.occurred, event.time.committed);
      this.#deps.metrics.latency("publish", event.time.committed, event.time.published);
    }
    if (this.#deps.lifecycle.wants("published")) {
      for (const [topic, group] of byTopic(messages, sent)) {
        this.#deps.lifecycle.emit("published", "producer", { topic, ids: group.map((e) => e.id), count: group.length });
      }
    }
  }

  dropped(events: DataEvent[], reason: "poisoned"): void {
    this.#deps.metrics.count("dropped", events.length);
    this.#deps.lifecycle.emit("dropped", "producer", {
      reason,
      ids: events.map((e) => e.id),
      entities: [...new Set(events.map((e) => e.entity))],
    });
  }

  /** Sends already-encoded messages (dead letters). Rejects on failure, so the caller can redeliver. */
  sendRaw(messages: OutgoingMessage[]): Promise<void> {
    this.#accepted += messages.length;
    return this.#queue.send(messages);
  }

  // An event this process's capture built (`publish`); the outbox relay's stored events go through `deliver`.
  #toMessage(topic: string, event: DataEvent): OutgoingMessage {
    if (this.#deps.transport.inProcess) return this.#localMessage(topic, event);
    const { value, headers } = encodeEvent(event, this.#deps.envelopeVersion);
    return { topic, key: routingKey(event), value: this.#sized(topic, value), headers };
  }

  // No bytes for a transport in this process: a decoded-form snapshot, refused exactly where encode
  // would refuse it (the same error, and the size limit, checked on the real bytes when the bound exceeds it).
  // Its headers are written when read (a dead letter, `meta.headers`): the snapshot holds what they say.
  #localMessage(topic: string, event: DataEvent): LocalMessage {
    const copy = snapshotCaptured(event);
    const value = copy.value;
    const bytes = copy.maxBytes > this.#deps.maxPayloadBytes ? this.#encode(topic, value) : undefined;
    // Only an envelope that passes the consumers' check skips it (any other gets decoded and checked
    // there); checked on first delivery, so a publish nobody in this process consumes skips the check.
    const local = new LocalEvent(value as object, copy.captured ? isPlainCaptured : isPlainEvent);
    return new LocalMessage(topic, routingKey(event), local, bytes);
  }

  #encode(topic: string, payload: unknown): Uint8Array {
    return this.#sized(topic, encode(payload));
  }

  // The one size check of what is sent: the bytes, refused over `maxPayloadBytes`.
  #sized(topic: string, value: Uint8Array): Uint8Array {
    if (value.byteLength > this.#deps.maxPayloadBytes) throw PublishError.payloadTooLarge(topic, value.byteLength, this.#deps.maxPayloadBytes);
    return value;
  }

  #failed(topic: string, events: readonly { id: string }[], error: unknown): void {
    this.#deps.metrics.count("publishFailed", events.length);
    this.#deps.failed?.(events.map((e) => e.id));
    const err = error instanceof Error ? error : PublishError.transportFailed(topic, error);
    this.#deps.lifecycle.emit("publish_failed", "producer", { topic, ids: events.map((e) => e.id), error: err });
    if (!this.#deps.lifecycle.wants("publish_failed")) {
      this.#deps.logger.error(`[koper] ${events.length} event(s) for "${topic}" were not published: ${err.message}`, { topic, error: err });
    }
  }
}

// A transport's own Koper error (e.g. Kafka's, with its `retriable`) says more than a wrapper would.
function asPublishError(topic: string, error: unknown): Error {
  return isKoperError(error) ? error : PublishError.transportFailed(topic, error);
}

/** Entity + primary key: all events of one row share a key, so they stay in order. */
export function routingKey(event: Pick<DataEvent, "entity" | "key">): string {
  const key = event.key;
  if (!key) return event.entity;
  // The common one-column key, without the array Object.values makes.
  let count = 0;
  let only: unknown;
  for (const name in key) {
    if (!Object.hasOwn(key, name)) continue;
    if (++count > 1) break;
    only = key[name];
  }
  if (count === 1) return `${event.entity}:${String(only)}`;
  const values = Object.values(key);
  const id = values.length === 1 ? String(values[0]) : JSON.stringify(values.map(String));
  return `${event.entity}:${id}`;
}

// The sender's context travels in the headers, so the receiving handler runs in it (and nothing else).
function contextHeaders(context: KoperContext | undefined): Record<string, string> {
  if (!context) return {};
  const { traceparent, ...rest } = context;
  const headers: Record<string, string> = {};
  if (isTraceparent(traceparent)) headers[Headers.traceparent] = childTraceparent(traceparent);
  const fields = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  if (Object.keys(fields).length > 0) {
    try {
      headers[Headers.context] = JSON.stringify(fields);
    } catch {
      // A context field JSON cannot carry (a cycle, a bigint) stays behind; the message still goes.
    }
  }
  return headers;
}

function byTopic<E>(messages: OutgoingMessage[], events: readonly E[]): Map<string, E[]> {
  const out = new Map<string, E[]>();
  messages.forEach((message, i) => {
    const group = out.get(message.topic) ?? [];
    group.push(events[i]!);
    out.set(message.topic, group);
  });
  return out;
}
