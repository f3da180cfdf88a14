import { ChangeCapture } from "../capture/ChangeCapture.ts";
import type { RedactOptions } from "../capture/redact.ts";
import { runWithContext, type KoperContext } from "../context/context.ts";
import { topicResolver, type TopicOptions } from "../envelope/topics.ts";
import { ConfigError, PublishError, StopError } from "../errors.ts";
import { Lifecycle, type LifecycleEvent, type LifecycleType } from "../observability/Lifecycle.ts";
import { Metrics, type MetricsSnapshot } from "../observability/Metrics.ts";
import { InProcessTransport } from "../transports/InProcessTransport.ts";
import type { SubscriptionHandle, Transport } from "../transports/Transport.ts";
import type { SqlClient } from "../capture/in-transaction.ts";
import type { DataEvent } from "../envelope/DataEvent.ts";
import type { OutboxOptions } from "../outbox/index.ts";
import { OutboxRelay } from "../outbox/OutboxRelay.ts";
import { SqlOutboxStore } from "../outbox/OutboxStore.ts";
import { OutboxWriter } from "../outbox/OutboxWriter.ts";
import { bindingSpec } from "./binding-spec.ts";
import { DedupMemory } from "./DedupMemory.ts";
import { ListenerBinding } from "./ListenerBinding.ts";
import { Producer, type MessageSender } from "./Producer.ts";
import type { RetryOptions } from "./RetryPolicy.ts";

/** Everything `new Koper(options)` takes; every field has a default. */
export interface KoperOptions {
  /** How messages move. Default: a new `InProcessTransport`. */
  transport?: Transport;
  /** Names this process in lifecycle events and transports. Default "koper". */
  clientId?: string;
  /** Service name stamped in `event.source.service`. */
  service?: string;
  /** Topic naming of data events. Default `koper.<Entity>`. */
  topics?: TopicOptions;
  /** Fields removed or masked per entity before an event leaves the process. */
  redact?: RedactOptions;
  /** Largest encoded message. Default 1,000,000 bytes (Kafka's default message.max.bytes). */
  maxPayloadBytes?: number;
  /** Default retry policy of listeners. */
  retry?: RetryOptions;
  /** Default number of keys a listener handles at once. Default 16. */
  concurrency?: number;
  /** How long `stop()` waits for in-flight work. Default 10,000 ms. */
  stopDeadlineMs?: number;
  /** Messages the producer queues before publishers wait (backpressure). Default 10,000. */
  maxQueuedMessages?: number;
  /** Most messages the producer puts in one transport call. Default 1,000. */
  maxBatchMessages?: number;
  /**
   * The transactional outbox on a SqlClient (a relay-only process, or a plain driver). Adapters take
   * `outbox: true` instead and attach it with their ORM's client.
   */
  outbox?: OutboxOptions & { client: SqlClient };
}

type State = "idle" | "starting" | "running" | "stopping" | "stopped";

/** One Koper instance: a producer, the capture API for ORM adapters, and the listener runtime. */
export class Koper {
  /** Sends plain messages. */
  readonly sender: MessageSender;
  /** The capture API ORM adapters translate their hooks into. */
  readonly capture: ChangeCapture;
  readonly transport: Transport;
  readonly #options: KoperOptions;
  readonly #metrics = new Metrics();
  readonly #lifecycle: Lifecycle;
  readonly #producer: Producer;
  readonly #topicFor: (entity: string) => string;
  readonly #bindings: ListenerBinding[] = [];
  readonly #dedup = new Map<string, DedupMemory>();
  #handles: SubscriptionHandle[] = [];
  #connected: Promise<void> | undefined;
  #state: State = "idle";
  #stopping: Promise<void> | undefined;
  #relay: OutboxRelay | undefined;
  #relayOnStart = false;

  constructor(options: KoperOptions = {}) {
    this.#options = options;
    const maxPayloadBytes = positive("maxPayloadBytes", options.maxPayloadBytes ?? 1_000_000);
    this.transport = options.transport ?? new InProcessTransport();
    this.#lifecycle = new Lifecycle(options.clientId ?? "koper");
    this.#topicFor = topicResolver(options.topics);
    this.#producer = new Producer({
      transport: this.transport,
      topicFor: this.#topicFor,
      maxPayloadBytes,
      metrics: this.#metrics,
      lifecycle: this.#lifecycle,
      ready: () => this.#ready(),
      maxQueuedMessages: positive("maxQueuedMessages", options.maxQueuedMessages ?? 10_000),
      maxBatchMessages: positive("maxBatchMessages", options.maxBatchMessages ?? 1_000),
    });
    this.sender = this.#producer;
    this.capture = new ChangeCapture(this.#producer, { service: options.service, redact: options.redact });
    if (options.outbox) this.attachOutbox(options.outbox.client, options.outbox);
  }

  /** The outbox relay, once an outbox is attached: `koper.relay.start()`, `runOnce()`, `drain()`. */
  get relay(): OutboxRelay | undefined {
    return this.#relay;
  }

  /**
   * Turns on the transactional outbox: every committing transaction's events are written to the
   * outbox table on `client` inside that transaction, and the relay publishes them (started by
   * `start()` unless `relay: false`). Adapters call it for `outbox: true`; one outbox per Koper.
   */
  attachOutbox(client: SqlClient, options: OutboxOptions = {}): OutboxRelay {
    if (this.#relay) throw ConfigError.invalidOption("outbox", "this Koper already has an outbox: attach it once, from one adapter or from KoperOptions.outbox");
    const store = options.store ?? new SqlOutboxStore(client, options);
    const channel = store instanceof SqlOutboxStore ? store.channel : undefined;
    const relay = new OutboxRelay(store, (items) => this.#deliver(items), options, channel ? { client, channel } : undefined);
    this.capture.use(new OutboxWriter(store, this.#topicFor, () => relay.wake()), client);
    this.#relay = relay;
    this.#relayOnStart = options.relay ?? true;
    if (this.#state === "running" && this.#relayOnStart) void relay.start();
    return relay;
  }

  async #deliver(items: { topic: string; event: DataEvent }[]): Promise<void> {
    await this.#ready();
    await this.#producer.deliver(items);
  }

  /** Adds listeners (decorated class instances or `listen`/`dataListener` objects); checks their handlers now. */
  register(...listeners: object[]): this {
    if (this.#state !== "idle") throw ConfigError.invalidOption("register", "register listeners before koper.start()");
    const retry = this.#options.retry;
    for (const listener of listeners) {
      const spec = bindingSpec(listener, {
        topicFor: this.#topicFor,
        retry,
        concurrency: this.#options.concurrency ?? 16,
        dedupFor: (group) => this.#dedupFor(group),
      });
      this.#bindings.push(
        new ListenerBinding(spec, {
          metrics: this.#metrics,
          lifecycle: this.#lifecycle,
          sendDeadLetters: (messages) => this.#producer.sendRaw(messages),
        }),
      );
    }
    return this;
  }

  /** Connects the transport and subscribes every registered listener. */
  async start(): Promise<void> {
    if (this.#state !== "idle") throw ConfigError.invalidOption("start", `Koper is already ${this.#state}`);
    this.#state = "starting";
    try {
      await this.#ready();
      for (const binding of this.#bindings) this.#handles.push(await this.transport.subscribe(binding.subscription()));
      if (this.#relay && this.#relayOnStart) await this.#relay.start();
      this.#state = "running";
    } catch (error) {
      this.#state = "idle";
      await Promise.allSettled(this.#handles.map((h) => h.close()));
      this.#handles = [];
      throw error;
    }
  }

  /**
   * Stops gracefully: takes no new messages, lets in-flight ones finish (in-process: drains what was
   * accepted), commits, closes the transport. Rejects with `StopError` if the deadline passed first.
   */
  stop(options: { deadlineMs?: number } = {}): Promise<void> {
    // A second call (a signal handler, a test's afterEach) waits for the same stop.
    return (this.#stopping ??= this.#stop(options));
  }

  async #stop(options: { deadlineMs?: number }): Promise<void> {
    this.#state = "stopping";
    const deadlineMs = options.deadlineMs ?? this.#options.stopDeadlineMs ?? 10_000;
    const handles = this.#handles;
    this.#handles = [];
    const finish = async () => {
      await this.#relay?.stop(); // the round under way ends; the rest stays in the table
      await this.#producer.flush();
      if (handles.length > 0) await this.transport.drain?.();
      await Promise.all(handles.map((h) => h.close()));
      await this.#producer.flush(); // dead letters written by the last handlers
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), deadlineMs)));
    const outcome = await Promise.race([finish().then(() => "done" as const), timedOut]);
    clearTimeout(timer);
    await this.transport.close();
    this.#state = "stopped";
    if (outcome === "timeout") {
      const unfinished = this.#bindings.reduce((n, binding) => n + binding.inFlight, 0);
      throw StopError.deadlineExceeded(deadlineMs, unfinished);
    }
  }

  /** Runs `fn` with an actor/request id that every event captured inside it carries. */
  runWith<R>(context: KoperContext, fn: () => R): R {
    return runWithContext(context, fn);
  }

  /** Counters and per-stage latency percentiles. */
  metrics(): MetricsSnapshot {
    return this.#metrics.snapshot();
  }

  /** Subscribes to a lifecycle event; returns the function that unsubscribes. */
  on<K extends LifecycleType>(type: K, listener: (event: LifecycleEvent<K>) => void): () => void {
    return this.#lifecycle.on(type, listener);
  }

  /** The topic data events of `entity` are published to. */
  topicFor(entity: string): string {
    return this.#topicFor(entity);
  }

  #ready(): Promise<void> {
    if (this.#state === "stopped") return Promise.reject(PublishError.stopped());
    return (this.#connected ??= this.transport.connect().catch((error: unknown) => {
      this.#connected = undefined;
      throw error;
    }));
  }

  #dedupFor(group: string): DedupMemory {
    let memory = this.#dedup.get(group);
    if (!memory) this.#dedup.set(group, (memory = new DedupMemory()));
    return memory;
  }
}

function positive(option: string, value: number): number {
  if (!(value > 0)) throw ConfigError.invalidOption(option, `expected a positive number, got ${value}`);
  return value;
}
