import type { InboxStore } from "../inbox/SqlInboxStore.ts";
import { now } from "../capture/build-event.ts";
import { DetachedScope } from "../context/context.ts";
import { deadLetterTopic } from "../envelope/topics.ts";
import { messageOf } from "../errors.ts";
import type { Delivery, Lifecycle } from "../observability/Lifecycle.ts";
import type { Metrics } from "../observability/Metrics.ts";
import type { DeliveredMessage, OutgoingMessage, Subscription } from "../transports/Transport.ts";
import { DedupMemory } from "./DedupMemory.ts";
import { Headers } from "./headers.ts";
import { KeyedScheduler } from "./KeyedScheduler.ts";
import type { Resolved, Resolver } from "./resolvers.ts";
import { RetryPolicy } from "./RetryPolicy.ts";

/** What a binding needs from its Koper instance. */
export interface BindingDeps {
  metrics: Metrics;
  lifecycle: Lifecycle;
  sendDeadLetters: (messages: OutgoingMessage[]) => Promise<void>;
}

/** One registered listener as a consumer-group member: ordering, retries, dead letters. */
export interface BindingSpec {
  name: string;
  group: string;
  /** The listener named its group (`group` option) rather than taking the default. */
  explicitGroup: boolean;
  topics: readonly string[];
  resolve: Resolver;
  retry: RetryPolicy;
  concurrency: number;
  dedup: DedupMemory | undefined;
  /** The durable inbox the handler runs in, if any. */
  inbox: InboxStore | undefined;
}

// Messages without a key are kept in order among themselves, as one partition would.
const NO_KEY = "\u0000no-key";

// Created when core is loaded, outside any request: the async context every handler call starts from.
const DETACHED = new DetachedScope();

/** Runs one listener: events of a key in order, retried with backoff, then dead-lettered. */
export class ListenerBinding {
  readonly spec: BindingSpec;
  readonly #deps: BindingDeps;
  readonly #scheduler = new KeyedScheduler();
  readonly #inFlight = new Set<DeliveredMessage>();

  constructor(spec: BindingSpec, deps: BindingDeps) {
    this.spec = spec;
    this.#deps = deps;
  }

  /** The subscription to hand to a transport. */
  subscription(): Subscription {
    return {
      group: this.spec.group,
      topics: this.spec.topics,
      maxInFlight: this.spec.concurrency,
      handle: (message) => this.#handle(message),
    };
  }

  async #handle(message: DeliveredMessage): Promise<void> {
    // Received when the transport hands it over; waiting behind its key counts as handling time.
    const received = now();
    this.#inFlight.add(message);
    try {
      // Decoding, lifecycle events and dead letters too run detached from whoever published.
      await this.#scheduler.run(message.key ?? NO_KEY, () => DETACHED.runEmpty(this.#process, this, message, received));
    } finally {
      this.#inFlight.delete(message);
    }
  }

  /** Messages handed to this listener and not yet done (handled or dead-lettered). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Ids (header `koper-id`) of the messages handed to this listener and not yet done. */
  inFlightIds(): string[] {
    const ids: string[] = [];
    for (const message of this.#inFlight) {
      const id = message.headers[Headers.id];
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  async #process(message: DeliveredMessage, received: number): Promise<void> {
    let resolved: Resolved | null;
    try {
      resolved = this.spec.resolve(message);
    } catch (error) {
      return this.#deadLetter(message, undefined, error, 0);
    }
    if (!resolved) return this.#deps.metrics.count("ignored");
    if (resolved.id && this.spec.dedup?.has(resolved.id)) return this.#deps.metrics.count("deduplicated");
    if (resolved.event) resolved.event.time.received = received;
    const attempts = await this.#invoke(message, resolved);
    if (attempts === undefined) return;
    const handled = now();
    this.spec.dedup?.add(resolved.id);
    this.#measure(resolved, received, handled);
    if (!this.#deps.lifecycle.wants("handled")) return; // the hot path builds no payload nobody reads
    this.#deps.lifecycle.emit("handled", "consumer", {
      ...this.#delivery(message, resolved.id),
      attempts,
      durationMs: handled - received,
    });
  }

  // The handler and its inbox row in one transaction; a redelivery of a handled event is skipped.
  async #inboxed(inbox: InboxStore, resolved: Resolved, attempt: number): Promise<void> {
    const ran = await inbox.run(this.spec.group, resolved.id!, async () => void (await resolved.invoke(attempt)));
    if (!ran) this.#deps.metrics.count("deduplicated"); // handled before a crash: its effects already committed
  }

  // Returns the attempts it took, or undefined when the message went to the dead letter.
  async #invoke(message: DeliveredMessage, resolved: Resolved): Promise<number | undefined> {
    const policy = this.spec.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        // Each call in its own event's context, whoever published it and wherever the transport runs.
        if (!this.spec.inbox || !resolved.id) await DETACHED.run(resolved.context, () => resolved.invoke(attempt));
        else await DETACHED.run(resolved.context, () => this.#inboxed(this.spec.inbox!, resolved, attempt));
        return attempt;
      } catch (error) {
        const willRetry = attempt <= policy.retries && RetryPolicy.isRetriable(error);
        const delayMs = willRetry ? policy.delay(attempt) : 0;
        this.#deps.lifecycle.emit("handler_failed", "consumer", {
          ...this.#delivery(message, resolved.id),
          attempt,
          error,
          willRetry,
          delayMs,
        });
        if (!willRetry) {
          await this.#deadLetter(message, resolved.id, error, attempt);
          return undefined;
        }
        this.#deps.metrics.count("retried");
        await sleep(delayMs);
      }
    }
  }

  async #deadLetter(message: DeliveredMessage, id: string | undefined, error: unknown, attempts: number): Promise<void> {
    const topic = deadLetterTopic(message.topic);
    const reason = describe(error);
    await this.#deps.sendDeadLetters([
      {
        topic,
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [Headers.dlqReason]: reason,
          [Headers.dlqError]: error instanceof Error ? error.name : typeof error,
          [Headers.dlqAttempts]: String(attempts),
          [Headers.dlqListener]: this.spec.name,
          [Headers.dlqGroup]: this.spec.group,
          [Headers.originalTopic]: message.topic,
          [Headers.originalPartition]: String(message.partition),
          [Headers.originalOffset]: message.offset,
        },
      },
    ]);
    this.#deps.metrics.count("deadLettered");
    this.#deps.lifecycle.emit("dead_lettered", "consumer", {
      ...this.#delivery(message, id),
      attempts,
      reason,
      deadLetterTopic: topic,
    });
  }

  #measure(resolved: Resolved, received: number, handled: number): void {
    const metrics = this.#deps.metrics;
    metrics.count("handled");
    metrics.latency("handle", received, handled);
    const event = resolved.event;
    if (event) {
      event.time.handled = handled;
      metrics.latency("deliver", event.time.published, received);
      metrics.latency("total", event.time.occurred, handled);
    } else {
      metrics.latency("deliver", resolved.sentAt, received);
      metrics.latency("total", resolved.sentAt, handled);
    }
  }

  #delivery(message: DeliveredMessage, id: string | undefined): Delivery {
    return {
      listener: this.spec.name,
      group: this.spec.group,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      id,
    };
  }
}

function describe(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? `${code}: ${messageOf(error)}` : messageOf(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
