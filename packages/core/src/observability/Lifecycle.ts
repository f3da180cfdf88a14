import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import type { EventError } from "../envelope/DataEvent.ts";
import { createLogger, type KoperLogger } from "./logger.ts";

/** Who emitted a lifecycle event: the seeds of Koper's message tracking. */
export interface Identity {
  role: "producer" | "consumer";
  clientId: string;
  host: string;
  pid: number;
}

/** Where a consumed message came from. */
export interface Delivery {
  listener: string;
  group: string;
  topic: string;
  partition: number;
  offset: string;
  /** Event or message id, when known. */
  id: string | undefined;
}

/** Payload of each lifecycle event, by type. */
export interface LifecyclePayloads {
  published: { topic: string; ids: string[]; count: number };
  publish_failed: { topic: string; ids: string[]; error: Error };
  handled: Delivery & { attempts: number; durationMs: number };
  handler_failed: Delivery & { attempt: number; error: unknown; willRetry: boolean; delayMs: number };
  dead_lettered: Delivery & { attempts: number; reason: string; deadLetterTopic: string };
  /** "poisoned": their transaction cannot have committed; "stopped": stop() gave up before they were handled. */
  dropped: { reason: "poisoned" | "stopped"; ids: string[]; entities: string[]; error?: EventError };
  /** The audit rows of these failure events (failed attempts) could not be written; `error` is an AuditError. */
  audit_failed: { ids: string[]; entities: string[]; error: Error };
}

/** A lifecycle event type. */
export type LifecycleType = keyof LifecyclePayloads;

/** One lifecycle event, shaped like kafkajs's instrumentation events (`{ id, type, timestamp, payload }`). */
export interface LifecycleEvent<K extends LifecycleType = LifecycleType> {
  id: number;
  type: K;
  timestamp: number;
  payload: LifecyclePayloads[K] & { identity: Identity };
}

/** The lifecycle event types, as constants. */
export const LifecycleEvents = {
  PUBLISHED: "published",
  PUBLISH_FAILED: "publish_failed",
  HANDLED: "handled",
  HANDLER_FAILED: "handler_failed",
  DEAD_LETTERED: "dead_lettered",
  DROPPED: "dropped",
  AUDIT_FAILED: "audit_failed",
} as const satisfies Record<string, LifecycleType>;

/** Emits lifecycle events to the application's subscribers; a throwing subscriber is isolated. */
export class Lifecycle {
  readonly #emitter = new EventEmitter();
  readonly #clientId: string;
  readonly #logger: KoperLogger;
  #next = 0;

  constructor(clientId: string, logger: KoperLogger = createLogger()) {
    this.#clientId = clientId;
    this.#logger = logger;
    this.#emitter.setMaxListeners(0);
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends LifecycleType>(type: K, listener: (event: LifecycleEvent<K>) => void): () => void {
    this.#emitter.on(type, listener);
    return () => this.#emitter.off(type, listener);
  }

  /** True when someone listens to `type` (so callers can skip building payloads). */
  wants(type: LifecycleType): boolean {
    return this.#emitter.listenerCount(type) > 0;
  }

  /** Emits one event. */
  emit<K extends LifecycleType>(type: K, role: Identity["role"], payload: LifecyclePayloads[K]): void {
    if (!this.wants(type)) return;
    const identity: Identity = { role, clientId: this.#clientId, host: HOST, pid: process.pid };
    const event: LifecycleEvent<K> = { id: this.#next++, type, timestamp: Date.now(), payload: { ...payload, identity } };
    for (const listener of this.#emitter.listeners(type)) {
      try {
        (listener as (e: LifecycleEvent<K>) => void)(event);
      } catch (error) {
        this.#logger.error(`[koper] a "${type}" lifecycle listener threw`, { error });
      }
    }
  }
}

const HOST = hostname();
