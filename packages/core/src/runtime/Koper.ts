import { ChangeCapture } from "../capture/ChangeCapture.ts";
import type { SqlClient } from "../capture/in-transaction.ts";
import type { AuditLog } from "../audit/AuditLog.ts";
import type { AuditOptions } from "../audit/AuditStore.ts";
import { KoperAudit } from "../audit/KoperAudit.ts";
import { runWithContext, type KoperContext } from "../context/context.ts";
import { topicResolver } from "../envelope/topics.ts";
import { envelopeVersionOf } from "../envelope/wire.ts";
import { ConfigError, PublishError, StopError } from "../errors.ts";
import { Lifecycle, type LifecycleEvent, type LifecycleType } from "../observability/Lifecycle.ts";
import { createLogger, type KoperLogger } from "../observability/logger.ts";
import { Metrics, type MetricsSnapshot } from "../observability/Metrics.ts";
import { InProcessTransport } from "../transports/InProcessTransport.ts";
import type { SubscriptionHandle, Transport } from "../transports/Transport.ts";
import { attachOutbox } from "../outbox/attach-outbox.ts";
import type { OutboxOptions } from "../outbox/index.ts";
import type { OutboxRelay } from "../outbox/OutboxRelay.ts";
import { bindingSpec, claimGroup } from "./binding-spec.ts";
import { DedupMemory } from "./DedupMemory.ts";
import { Headers } from "./headers.ts";
import { ListenerBinding, type BindingSpec } from "./ListenerBinding.ts";
import type { KoperOptions } from "./KoperOptions.ts";
import { Producer, type MessageSender } from "./Producer.ts";

export type { KoperOptions } from "./KoperOptions.ts";

type State = "idle" | "starting" | "running" | "stopping" | "stopped";

/** One Koper instance: a producer, the capture API for ORM adapters, and the listener runtime. */
export class Koper {
  /** Sends plain messages. */
  readonly sender: MessageSender;
  /** The capture API ORM adapters translate their hooks into. */
  readonly capture: ChangeCapture;
  readonly transport: Transport;
  /** The logger of this instance; adapters log through it too. */
  readonly logger: KoperLogger;
  readonly #options: KoperOptions;
  readonly #metrics = new Metrics();
  readonly #lifecycle: Lifecycle;
  readonly #producer: Producer;
  readonly #topicFor: (entity: string) => string;
  readonly #bindings: ListenerBinding[] = [];
  // Consumer group → the listener in it (see claimGroup).
  readonly #groups = new Map<string, BindingSpec>();
  readonly #dedup = new Map<string, DedupMemory>();
  #handles: SubscriptionHandle[] = [];
  #connected: Promise<void> | undefined;
  /** The transport's connect() resolved: a send need not wait for it. */
  #up = false;
  #state: State = "idle";
  #stopping: Promise<void> | undefined;
  // Ids not published while stop() runs, so a StopError can count them.
  #lostWhileStopping: Set<string> | undefined;
  readonly #audit: KoperAudit;
  #outbox: { relay: OutboxRelay; startsWithKoper: boolean } | undefined;
  readonly #maxPayloadBytes: number;
  /** The transport this Koper made (none was given): only its own groups ever subscribe to it. */
  readonly #ownTransport: InProcessTransport | undefined;

  constructor(options: KoperOptions = {}) {
    this.#options = options;
    const maxPayloadBytes = (this.#maxPayloadBytes = positive("maxPayloadBytes", options.maxPayloadBytes ?? 1_000_000));
    this.logger = createLogger(options.logger);
    this.transport = options.transport ?? (this.#ownTransport = new InProcessTransport());
    this.transport.useLogger?.(this.logger);
    this.#lifecycle = new Lifecycle(options.clientId ?? "koper", this.logger);
    this.#topicFor = topicResolver(options.topics);
    this.#producer = new Producer({
      transport: this.transport,
      topicFor: this.#topicFor,
      maxPayloadBytes,
      envelopeVersion: envelopeVersionOf(options.envelopeVersion),
      metrics: this.#metrics,
      lifecycle: this.#lifecycle,
      logger: this.logger,
      ready: () => (this.#up && this.#state !== "stopped" ? undefined : this.#ready()),
      maxQueuedMessages: positive("maxQueuedMessages", options.maxQueuedMessages ?? 10_000),
      maxBatchMessages: positive("maxBatchMessages", options.maxBatchMessages ?? 1_000),
      context: options.context,
      failed: (ids) => {
        if (this.#lostWhileStopping) for (const id of ids) this.#lostWhileStopping.add(id);
      },
    });
    this.sender = this.#producer;
    this.#audit = new KoperAudit(this.logger, this.#lifecycle);
    const { service, redact, context } = options;
    this.capture = new ChangeCapture(this.#producer, { service, redact, context, onWriterError: this.#audit.reportWriteError });
    if (options.outbox) this.attachOutbox(options.outbox.client, options.outbox);
  }

  /** The outbox relay, once an outbox is attached: `koper.relay.start()`, `runOnce()`, `drain()`. */
  get relay(): OutboxRelay | undefined {
    return this.#outbox?.relay;
  }

  /**
   * Turns on the transactional outbox: every committing transaction's events are written to the
   * outbox table on `client` inside that transaction, and the relay publishes them (started by
   * `start()` unless `relay: false`). Adapters call it for `outbox: true`; one outbox per Koper.
   */
  attachOutbox(client: SqlClient, options: OutboxOptions = {}): OutboxRelay {
    if (this.#outbox) throw ConfigError.invalidOption("outbox", "this Koper already has an outbox: attach it once, from one adapter or from KoperOptions.outbox");
    const { capture, transport, logger } = this;
    const relay = attachOutbox({ capture, transport, logger, producer: this.#producer, maxPayloadBytes: this.#maxPayloadBytes, topicFor: this.#topicFor, ready: () => this.#ready() }, client, options);
    this.#outbox = { relay, startsWithKoper: options.relay ?? true };
    if (this.#state === "running" && this.#outbox.startsWithKoper) void relay.start();
    return relay;
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
      claimGroup(this.#groups, spec);
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
      // Every group this Koper will have has subscribed (register is refused from now on): the events
      // of topics nobody here consumes need not be kept for one, and keeping them costs every write.
      this.#ownTransport?.noLaterGroups();
      if (this.#outbox?.startsWithKoper) await this.#outbox.relay.start();
      this.#state = "running";
    } catch (error) {
      this.#state = "idle";
      await Promise.allSettled(this.#handles.map((h) => h.close()));
      this.#handles = [];
      throw error;
    }
  }

  /**
   * Stops gracefully. First everything published before the call is sent and (in-process) handled;
   * then new events and messages are refused, each reported as `publish_failed` with its id; then
   * what arrived meanwhile is finished, subscriptions close and commit, the transport closes.
   * Rejects with `StopError` if the deadline passed first; its `details.unfinished` counts (and
   * `details.ids` lists) every message not handled, each also reported (`publish_failed`, or
   * `dropped` with reason "stopped" for accepted messages an in-process transport loses).
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
    const lost = (this.#lostWhileStopping = new Set<string>());
    const finish = async () => {
      await this.#outbox?.relay.stop(); // the round under way ends; the rest stays in the table
      // What was committed before stop(): sent, then handled, however busy writers keep the queue.
      await this.#producer.flushQueued();
      if (handles.length > 0) await this.transport.drain?.();
      // Then refuse new work (reported by id) and finish what came in meanwhile: a finite amount.
      this.#producer.refuse();
      await this.#producer.flush();
      if (handles.length > 0) await this.transport.drain?.();
      await Promise.all(handles.map((h) => h.close()));
      await this.#producer.flush(); // dead letters written by the last handlers
      await this.capture.settled(); // audit rows of failed attempts, written after their rollback
    };
    let outcome: "done" | "timeout" | { error: unknown };
    try {
      outcome = await withDeadline(finish(), deadlineMs);
    } catch (error) {
      outcome = { error };
    }
    this.#producer.refuse();
    if (outcome === "timeout") this.#giveUp(lost);
    await this.transport.close();
    this.#state = "stopped";
    this.#lostWhileStopping = undefined;
    if (outcome === "timeout") throw StopError.deadlineExceeded(deadlineMs, [...lost]);
    if (outcome !== "done") throw outcome.error;
  }

  // The deadline passed: fail what the producer still holds, report what the transport would lose.
  #giveUp(lost: Set<string>): void {
    this.#producer.abort();
    const dropped = this.transport.unfinished?.() ?? [];
    const ids: string[] = [];
    const entities = new Set<string>();
    for (const message of dropped) {
      const id = message.headers[Headers.id];
      if (id !== undefined) ids.push(id);
      const entity = message.headers[Headers.entity];
      if (entity !== undefined) entities.add(entity);
    }
    if (dropped.length > 0) {
      this.#metrics.count("dropped", dropped.length);
      this.#lifecycle.emit("dropped", "producer", { reason: "stopped", ids, entities: [...entities] });
    }
    for (const id of ids) lost.add(id);
    // Still in a handler: it may yet finish; a broker (Kafka) delivers it again if it does not.
    for (const binding of this.#bindings) for (const id of binding.inFlightIds()) lost.add(id);
  }

  /**
   * Resolves when everything published so far has been handled or dead-lettered, including what those
   * handlers published in turn (it waits until a round adds nothing), and the audit rows of failed
   * attempts are written (or their error reported). Meant for tests. Over Kafka it waits for this
   * process's own consumers of those topics (the transport's `drain()`).
   */
  async settle(): Promise<void> {
    for (;;) {
      const before = this.#producer.accepted;
      await this.capture.settled();
      await this.#producer.flushQueued();
      await this.transport.drain?.();
      if (this.#producer.accepted === before) return;
    }
  }

  /** The audit trail's query API (history, changes, stateAt, forget…), once an adapter has `audit` on. */
  get audit(): AuditLog {
    return this.#audit.log;
  }

  /**
   * Turns the audit trail on for writes captured on `client`'s database: each committing transaction's
   * events of the audited entities are written to the audit table inside it. Adapters call this for
   * `audit: true | { … }`; the first call also makes `koper.audit` query that database.
   */
  useAudit(client: SqlClient, options: AuditOptions = {}): AuditLog {
    return this.#audit.use(this.capture, client, options);
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
    return (this.#connected ??= this.transport.connect().then(
      () => void (this.#up = true),
      (error: unknown) => {
        this.#connected = undefined;
        throw error;
      },
    ));
  }

  #dedupFor(group: string): DedupMemory {
    let memory = this.#dedup.get(group);
    if (!memory) this.#dedup.set(group, (memory = new DedupMemory()));
    return memory;
  }
}

async function withDeadline(work: Promise<void>, deadlineMs: number): Promise<"done" | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), deadlineMs)));
  try {
    return await Promise.race([work.then(() => "done" as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function positive(option: string, value: number): number {
  if (!(value > 0)) throw ConfigError.invalidOption(option, `expected a positive number, got ${value}`);
  return value;
}
