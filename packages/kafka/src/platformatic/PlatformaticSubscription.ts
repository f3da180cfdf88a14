import type { DeliveredMessage, KoperLogger, Subscription, SubscriptionHandle } from "@koper/core";
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, stringDeserializer, type Message, type MessagesStream } from "@platformatic/kafka";
import { isUnknownTopic, KafkaTransportError } from "../errors.ts";
import { MemberProgress } from "../MemberProgress.ts";
import type { ResolvedPlatformaticOptions } from "./options.ts";

type Stream = MessagesStream<string, Buffer, string, string>;
type Record_ = Message<string, Buffer, string, string>;

/** Pause before a message whose `handle` rejected is fetched again (KafkaTransport's too). */
const REDELIVERY_DELAY_MS = 1000;
/**
 * How long finished messages wait to be committed together: one OffsetCommit per partition set
 * every few milliseconds, not one per event-loop turn (kafkajs commits once per fetched batch).
 */
const COMMIT_EVERY_MS = 10;
/** Pause before a member whose stream failed (the broker went away) consumes again. */
const RESTART_DELAY_MS = 500;

/** One message handed to the runtime and not yet committed past. */
interface Entry {
  offset: bigint;
  state: "running" | "done" | "failed";
}

/**
 * What the member does on one partition: messages handed out in offset order and not yet passed
 * by the commit position, the position itself, and a redelivery in progress after a rejection.
 */
interface PartitionState {
  topic: string;
  partition: number;
  /** Handed out, in offset order; the head's run of done entries is what the commit may pass. */
  entries: Entry[];
  /** The offset after the longest run of finished messages (what the next commit writes), -1n before any. */
  next: bigint;
  /** What the broker has committed for this member, -1n before any. */
  committed: bigint;
  /** The next offset to hand out; smaller ones (a refetch after a rejoin) were handed out already. */
  expected: bigint;
  /** The highest offset the stream delivered, handed out or not. */
  seen: bigint;
  /** Set when a message was rejected: nothing more is handed out until it is fetched again. */
  rewind: { to: bigint; phase: "settling" | "waiting" | "seeking" | "fetching" } | undefined;
}

/**
 * One member of a consumer group on @platformatic/kafka: a Consumer with `groupId = subscription.group`
 * and one messages stream, handing messages to the runtime without waiting for the previous one (the
 * runtime keeps each key in order), at most `maxInFlight` outstanding, committing per partition only
 * the offset after the longest run of finished messages, and fetching a rejected message again.
 */
export class PlatformaticSubscription implements SubscriptionHandle {
  readonly #subscription: Subscription;
  readonly #options: ResolvedPlatformaticOptions;
  readonly #logger: () => KoperLogger;
  readonly #recreate: (topics: readonly string[]) => Promise<void> | undefined;
  readonly #consumer: Consumer<string, Buffer, string, string>;
  readonly #partitions = new Map<string, PartitionState>();
  /** Its partitions and what it finished on each, for `PlatformaticKafkaTransport.drain()`. */
  readonly progress = new MemberProgress();
  #stream: Stream | undefined;
  #inFlight = 0;
  #pausedForLimit = false;
  /** Resolved when nothing handed out is still running (close() and a rejoin may both wait). */
  readonly #idle: (() => void)[] = [];
  #committing: Promise<void> | undefined;
  #commitAgain = false;
  #closing: Promise<void> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Set while the member (re)joins its group: it hands out nothing, so nothing runs when partitions move. */
  #rejoining = false;
  /** Streams of earlier generations, kept open (and paused) until the next one exists, then closed. */
  readonly #retired = new Set<Stream>();
  /** Counts renewals, so a stream that arrives after a newer one was asked for is dropped. */
  #generation = 0;

  private constructor(
    subscription: Subscription,
    options: ResolvedPlatformaticOptions,
    logger: () => KoperLogger,
    recreate: (topics: readonly string[]) => Promise<void> | undefined,
  ) {
    this.#subscription = subscription;
    this.#options = options;
    this.#logger = logger;
    this.#recreate = recreate;
    const { highWaterMark: _hwm, ...consumer } = options.consumer;
    this.#consumer = new Consumer<string, Buffer, string, string>({
      ...options.client,
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      groupId: subscription.group,
      // With createTopics the transport made the topics with its `partitions`; the broker must not auto-create them with its own.
      autocreateTopics: !options.createTopics,
      ...consumer,
      // Called before every JoinGroup: like kafkajs, which rejoins only once its batch handlers
      // returned, the member finishes and commits what it handed out before its partitions can move.
      protocolsMetadata: () => this.#quiesce(),
      deserializers: { key: stringDeserializer, value: bytes, headerKey: stringDeserializer, headerValue: stringDeserializer },
    });
    this.#consumer.on("consumer:group:join", ({ assignments }) => this.#joined(assignments ?? []));
    this.#consumer.on("consumer:group:rebalance", () => this.progress.rebalancing());
    // A rejoin that failed (after a heartbeat said to) is reported as the consumer's "error" event;
    // unheard, an EventEmitter throws it, which would take the whole process down.
    this.#consumer.on("error", (error: Error) => {
      if (this.#closing) this.#logger().debug("Kafka consumer error while closing", { group: this.#subscription.group, error: error.message });
      else this.#logger().warn("Kafka consumer could not rejoin its group", { group: this.#subscription.group, error: error.message });
    });
  }

  /** The group and topics it consumes. */
  get subscription(): Pick<Subscription, "group" | "topics"> {
    return this.#subscription;
  }

  /** Joins the group and starts consuming; rejects with `KafkaTransportError` if it cannot. */
  static async start(
    subscription: Subscription,
    options: ResolvedPlatformaticOptions,
    logger: () => KoperLogger,
    recreate: (topics: readonly string[]) => Promise<void> | undefined = () => undefined,
  ): Promise<PlatformaticSubscription> {
    const member = new PlatformaticSubscription(subscription, options, logger, recreate);
    try {
      await member.#consume();
    } catch (error) {
      await member.#consumer.close(true).catch(() => {});
      throw KafkaTransportError.subscribeFailed(subscription.group, subscription.topics, error);
    }
    return member;
  }

  /**
   * Stops fetching, waits for every message handed out (handled or dead-lettered), commits them,
   * then leaves the group so its partitions move to the other members now.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#stream?.pause();
    await this.#settledAll();
    await this.#flushCommits().catch((error: unknown) => {
      this.#logger().warn("Committing the finished messages on close failed; they will be delivered again", { group: this.#subscription.group, error: String(error) });
    });
    await Promise.all([this.#stream, ...this.#retired].map((stream) => stream?.close().catch(() => {})));
    await this.#consumer.close().catch(() => this.#consumer.close(true).catch(() => {}));
    this.progress.left();
  }

  #settledAll(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  async #consume(): Promise<void> {
    const stream = await this.#open();
    if (this.#closing) {
      await stream.close().catch(() => {});
      return;
    }
    this.#attach(stream);
    // A member that joined before the stream existed already has its assignment.
    if (this.#consumer.assignments) this.#joined(this.#consumer.assignments);
  }

  #open(): Promise<Stream> {
    return this.#consumer.consume({
      topics: [...this.#subscription.topics],
      // Where the group committed; a group without commits starts per `fromBeginning`.
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: this.#options.fromBeginning ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      // Offsets are committed by the member, only up to messages the runtime finished.
      autocommit: false,
      ...(this.#options.consumer.highWaterMark === undefined ? {} : { highWaterMark: this.#options.consumer.highWaterMark }),
    });
  }

  #attach(stream: Stream): void {
    this.#stream = stream;
    this.#guardSeeks(stream);
    // Only the current stream's messages count: a retired one's were fetched for an earlier generation.
    stream.on("data", (message: Record_) => {
      if (stream === this.#stream) this.#receive(message);
    });
    stream.on("error", (error: Error) => this.#failed(stream, error));
    if (this.#pausedForLimit) stream.pause();
  }

  // After a rejoin: a new stream, from what the group committed, replaces the old one. The old
  // stream's buffer, its fetches still in flight and its positions belong to the generation before
  // (messages dropped while the group rebalanced, partitions that moved and came back); reusing
  // them hands out messages past a gap or never fetches the dropped ones again. Everything handed
  // out finished and was committed before the join (#quiesce), so the committed offsets are exactly
  // where each partition continues. The old stream stays open until the new one exists: closing it
  // first would untrack the topics and make the consumer join the group once more.
  async #renew(): Promise<void> {
    const generation = ++this.#generation;
    const old = this.#stream;
    if (old) {
      old.pause();
      this.#retired.add(old);
    }
    this.#stream = undefined;
    this.#partitions.clear();
    try {
      const stream = await this.#open();
      if (this.#closing || generation !== this.#generation) {
        await stream.close().catch(() => {});
        return;
      }
      this.#attach(stream);
      for (const retired of this.#retired) void retired.close().catch(() => {});
      this.#retired.clear();
    } catch (error) {
      if (this.#closing || generation !== this.#generation) return;
      this.#logger().warn("Kafka consumer could not consume after a rebalance; retrying", { group: this.#subscription.group, error: String(error) });
      this.#restartTimer = setTimeout(() => {
        if (!this.#closing && generation === this.#generation) void this.#renew();
      }, RESTART_DELAY_MS);
    }
  }

  // The stream failed (the broker went away, a topic vanished): consume again after a pause, from
  // what the group committed; messages still running finish and are committed meanwhile.
  #failed(stream: Stream, error: Error): void {
    if (this.#closing || stream !== this.#stream) return;
    this.#stream = undefined;
    this.#logger().warn("Kafka consumer stream failed; consuming again", { group: this.#subscription.group, error: error.message });
    const again = isUnknownTopic(error) ? this.#recreate(this.#subscription.topics) : undefined;
    void stream.close().catch(() => {});
    const restart = () => {
      this.#restartTimer = setTimeout(() => {
        if (this.#closing) return;
        // Partitions are reassigned from scratch: what is still running keeps its state until it finishes.
        this.#consume().catch((failure: unknown) => {
          this.#logger().warn("Kafka consumer could not consume again; retrying", { group: this.#subscription.group, error: String(failure) });
          restart();
        });
      }, RESTART_DELAY_MS);
    };
    void Promise.resolve(again)
      .catch(() => {})
      .then(restart);
  }

  // Before a (re)join: stops handing out messages, waits for those running, commits them. Messages
  // dropped meanwhile are fetched again from the committed offsets once the member has joined.
  async #quiesce(): Promise<Buffer> {
    this.#rejoining = true;
    this.#stream?.pause();
    await this.#settledAll();
    await this.#flushCommits().catch((error: unknown) => {
      this.#logger().warn("Committing the finished messages before a rebalance failed; they will be delivered again", { group: this.#subscription.group, error: String(error) });
    });
    return Buffer.alloc(0);
  }

  // The group gave this member its partitions: what it no longer owns is forgotten (the new owner
  // starts from the committed offset); what it keeps keeps its position, and the stream fetches it
  // again from the committed offset (for a rejected message's partition, that is the refetch).
  #joined(assignments: readonly { topic: string; partitions: number[] }[]): void {
    const owned = new Set<string>();
    const record: Record<string, number[]> = {};
    for (const { topic, partitions } of assignments) {
      record[topic] = [...partitions];
      for (const partition of partitions) owned.add(`${topic}:${partition}`);
    }
    for (const [key, state] of this.#partitions) {
      if (!owned.has(key)) this.#partitions.delete(key);
      else if (state.rewind && state.rewind.phase !== "settling") state.rewind.phase = "fetching";
    }
    this.progress.joined(record);
    if (this.#rejoining) {
      this.#rejoining = false;
      if (this.#inFlight < this.#subscription.maxInFlight) this.#pausedForLimit = false;
      // A rejoin (not the first join, whose stream is still being made): a new generation, a new stream.
      if (this.#closing) return;
      if (this.#stream || this.#retired.size > 0) void this.#renew();
    }
  }

  #state(topic: string, partition: number): PartitionState {
    const key = `${topic}:${partition}`;
    let state = this.#partitions.get(key);
    if (!state) this.#partitions.set(key, (state = { topic, partition, entries: [], next: -1n, committed: -1n, expected: -1n, seen: -1n, rewind: undefined }));
    return state;
  }

  #receive(message: Record_): void {
    if (this.#closing) return;
    const owns = this.progress.owns(message.topic, message.partition);
    // While the group rebalances, nothing is handed out; the stream of the next generation fetches it again.
    if (this.#rejoining || owns === undefined) return;
    // Fetched before a rebalance moved the partition to another member: it is that member's now.
    if (owns !== true) return;
    const state = this.#state(message.topic, message.partition);
    const { offset } = message;
    const seen = state.seen;
    if (offset > seen) state.seen = offset;
    const rewind = state.rewind;
    if (rewind) {
      // Until the refetch from the rejected offset begins, what arrives was fetched before it and
      // carries on past what was seen; the refetch starts back at `to` (at or below it).
      if (rewind.phase !== "fetching" || (offset !== rewind.to && offset > seen)) return;
      state.rewind = undefined;
      state.expected = rewind.to;
    }
    // Handed out already (a refetch after a rejoin or a restart); it finishes and commits on its own.
    if (offset < state.expected) return;
    state.expected = offset + 1n;
    const entry: Entry = { offset, state: "running" };
    state.entries.push(entry);
    if (++this.#inFlight >= this.#subscription.maxInFlight && !this.#pausedForLimit) {
      this.#pausedForLimit = true;
      this.#stream?.pause();
    }
    let handling: Promise<void>;
    try {
      handling = this.#subscription.handle(toDelivered(message));
    } catch (error) {
      handling = Promise.reject(error);
    }
    handling.then(
      () => this.#settled(state, entry, undefined),
      (error: unknown) => this.#settled(state, entry, error ?? new Error("rejected")),
    );
  }

  #settled(state: PartitionState, entry: Entry, error: unknown): void {
    if (error === undefined) entry.state = "done";
    else {
      entry.state = "failed";
      const context = { topic: state.topic, partition: state.partition, offset: String(entry.offset), error: error instanceof Error ? error.message : String(error) };
      if ((error as { code?: unknown })?.code === "redelivery_pending") this.#logger().debug("Message held behind a rejected one of its key; it will be delivered again", context);
      else this.#logger().error("Message could be neither handled nor dead-lettered; it will be delivered again", context);
      // The first rejection on the partition: hand out nothing more of it until it is fetched again.
      state.rewind ??= { to: entry.offset, phase: "settling" };
    }
    this.#advance(state);
    this.#inFlight--;
    if (this.#pausedForLimit && this.#inFlight < this.#subscription.maxInFlight && !this.#closing && !this.#rejoining) {
      this.#pausedForLimit = false;
      this.#stream?.resume();
    }
    if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  // Moves the commit position past the run of finished messages at the head; once a rejected
  // partition has nothing running, seeks it back to the rejected message after a pause.
  #advance(state: PartitionState): void {
    let moved = false;
    while (state.entries.length > 0 && state.entries[0]!.state === "done") {
      state.next = state.entries.shift()!.offset + 1n;
      moved = true;
    }
    if (moved && this.#partitions.get(`${state.topic}:${state.partition}`) === state) {
      this.progress.finished(state.topic, state.partition, state.next);
      this.#scheduleCommit();
    }
    const rewind = state.rewind;
    if (rewind?.phase === "settling" && state.entries.every((e) => e.state !== "running")) {
      rewind.phase = "waiting";
      // Finished messages after the rejected one are handled again with it, as KafkaTransport does.
      state.entries = [];
      setTimeout(() => {
        // A rejoin since replaced the stream and the partition's state: the new stream starts at the commit, which is the rejected message.
        if (state.rewind !== rewind || rewind.phase !== "waiting" || this.#closing || this.#partitions.get(`${state.topic}:${state.partition}`) !== state) return;
        rewind.phase = "seeking";
        this.#stream?.offsetsToFetch.set(`${state.topic}:${state.partition}`, rewind.to);
      }, REDELIVERY_DELAY_MS);
    }
  }

  // The stream keeps its fetch positions in a map: while a partition is seeking back, a fetch
  // answered meanwhile must not move its position forward again, and the first fetch that reads
  // the position starts the refetch.
  #guardSeeks(stream: Stream): void {
    const positions = stream.offsetsToFetch;
    const set = positions.set.bind(positions);
    const get = positions.get.bind(positions);
    const seeking = (key: string) => {
      const rewind = this.#partitions.get(key)?.rewind;
      return rewind?.phase === "seeking" ? rewind : undefined;
    };
    positions.set = (key: string, value: bigint) => set(key, seeking(key)?.to ?? value);
    positions.get = (key: string) => {
      const rewind = seeking(key);
      if (rewind) {
        rewind.phase = "fetching";
        return rewind.to;
      }
      return get(key);
    };
  }

  #scheduleCommit(): void {
    if (this.#committing) {
      this.#commitAgain = true;
      return;
    }
    this.#committing = new Promise<void>((resolve) => setTimeout(resolve, COMMIT_EVERY_MS))
      .then(() => this.#commit())
      .catch((error: unknown) => {
        // The broker went away or the group is rebalancing: the next finished message commits again.
        this.#logger().debug("Committing finished messages failed; will retry", { group: this.#subscription.group, error: String(error) });
        this.#commitAgain = true;
        return new Promise<void>((resolve) => setTimeout(resolve, 200));
      })
      .finally(() => {
        this.#committing = undefined;
        if (this.#commitAgain && !this.#closed) {
          this.#commitAgain = false;
          this.#scheduleCommit();
        }
      });
  }

  get #closed(): boolean {
    return this.#closing !== undefined && this.#inFlight === 0 && this.#committing === undefined;
  }

  async #commit(): Promise<void> {
    const offsets = [];
    const states: [PartitionState, bigint][] = [];
    for (const state of this.#partitions.values()) {
      if (state.next > state.committed) {
        offsets.push({ topic: state.topic, partition: state.partition, offset: state.next, leaderEpoch: -1 });
        states.push([state, state.next]);
      }
    }
    if (offsets.length === 0) return;
    await this.#consumer.commit({ offsets });
    for (const [state, next] of states) if (state.committed < next) state.committed = next;
  }

  // Waits for a commit in progress, then commits what is left (close()).
  async #flushCommits(): Promise<void> {
    while (this.#committing) await this.#committing;
    this.#commitAgain = false;
    await this.#commit();
  }
}

function bytes(data?: Buffer): Buffer {
  return data ?? Buffer.alloc(0);
}

/** A fetched message as core's listener runtime takes it. */
function toDelivered(message: Record_): DeliveredMessage {
  const headers: Record<string, string> = {};
  // Kafka allows repeated header keys; Koper's headers are a map, so the last value wins (the Map keeps the last).
  for (const [name, value] of message.headers) headers[name] = value;
  return {
    topic: message.topic,
    partition: message.partition,
    key: message.key ?? null,
    // A tombstone (null value) is delivered as empty bytes: the runtime's decoder reports it.
    value: message.value ?? new Uint8Array(0),
    headers,
    offset: message.offset.toString(),
    timestamp: Number(message.timestamp),
  };
}
