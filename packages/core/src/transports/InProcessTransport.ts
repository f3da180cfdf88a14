import { PublishError } from "../errors.ts";
import { createLogger, type KoperLogger } from "../observability/logger.ts";
import { LocalDelivery } from "./LocalDelivery.ts";
import { ACCEPTED, type DeliveredMessage, type OutgoingMessage, type Subscription, type SubscriptionHandle, type Transport } from "./Transport.ts";

/** Settings of the in-process transport. */
export interface InProcessTransportOptions {
  /** Undelivered messages a group may lag behind before `send` waits. Default 10,000. */
  capacity?: number;
  /**
   * Messages sent while nobody consumed a topic that are kept for groups that subscribe later
   * (the last this many). Default 10,000. Messages sent once a group consumes the topic are dropped
   * when every group has taken them (a group whose members all closed keeps up to this many of its backlog).
   * After `noLaterGroups()` nothing is kept for a group that subscribes later.
   */
  retention?: number;
  /** Called when a `handle` rejects: in-process there is no broker to deliver it again. */
  onDeliveryError?: (error: unknown, message: DeliveredMessage) => void;
}

interface Member {
  subscription: Subscription;
  /** Messages handed to this member and not finished. */
  active: number;
  /** Woken when `active` drops to 0 (a closing member waits for that). */
  idle: (() => void)[];
}

interface Group {
  next: number;
  members: Member[];
  roundRobin: number;
  /** Handed to a member and not finished yet. */
  inFlight: Set<DeliveredMessage>;
  /** Ever had a member: its backlog is owed to someone, even after the member closed. */
  consumed: boolean;
}

interface DrainWaiter {
  ends: Map<TopicLog, number>;
  resolve: () => void;
}

interface TopicLog {
  base: number;
  /** End offset when a group first consumed the topic: messages below it were sent while nobody did. */
  consumedFrom: number | undefined;
  entries: DeliveredMessage[];
  groups: Map<string, Group>;
  spaceWaiters: (() => void)[];
}

/**
 * The embedded default transport: a bounded log per topic with a cursor per consumer group,
 * so groups each get every message and a group's members share them (by key), in order per key.
 * `send` waits while a consuming group is `capacity` messages behind: nothing is dropped.
 */
export class InProcessTransport implements Transport {
  readonly name = "in-process";
  readonly inProcess = true;
  readonly #topics = new Map<string, TopicLog>();
  readonly #capacity: number;
  readonly #retention: number;
  readonly #onDeliveryError: (error: unknown, message: DeliveredMessage) => void;
  readonly #drainWaiters: DrainWaiter[] = [];
  #logger: KoperLogger = createLogger();
  #closed = false;
  /** No group subscribes from now on (see `noLaterGroups`): nothing is kept for one. */
  #noLaterGroups = false;

  constructor(options: InProcessTransportOptions = {}) {
    this.#capacity = options.capacity ?? 10_000;
    this.#retention = options.retention ?? 10_000;
    this.#onDeliveryError =
      options.onDeliveryError ?? ((error, message) => this.#logger.error("[koper] in-process delivery failed", { topic: message.topic, error }));
  }

  useLogger(logger: KoperLogger): void {
    this.#logger = logger;
  }

  async connect(): Promise<void> {
    this.#closed = false;
  }

  // Not async: a send that finds room (the common case) appends and hands out synchronously, with no promise of its own.
  send(messages: OutgoingMessage[]): Promise<void> {
    try {
      const sent = this.#append(messages, 0, Date.now());
      if (sent < messages.length) return this.#sendWhenRoom(messages, sent);
      this.#pumpSent(messages);
      return ACCEPTED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // The rest of a send that found a consuming group `capacity` messages behind: waits for room, then goes on.
  async #sendWhenRoom(messages: OutgoingMessage[], from: number): Promise<void> {
    while (from < messages.length) {
      const log = this.#log(messages[from]!.topic);
      await new Promise<void>((resolve) => log.spaceWaiters.push(resolve));
      if (this.#closed) throw PublishError.stopped();
      from = this.#append(messages, from, Date.now());
    }
    this.#pumpSent(messages);
  }

  // Appends `messages` from `from` on; returns where it stopped: the first message whose log is still
  // full after handing out what this batch appended so far (or the end).
  #append(messages: OutgoingMessage[], from: number, timestamp: number): number {
    for (let i = from; i < messages.length; i++) {
      const message = messages[i]!;
      if (this.#closed) throw PublishError.stopped();
      const log = this.#log(message.topic);
      if (this.#isFull(log)) {
        this.#pumpAll(log); // hand out what this batch appended so far before waiting for room
        if (this.#isFull(log)) return i;
      }
      const offset = log.base + log.entries.length;
      if (message.event !== undefined) log.entries.push(new LocalDelivery(message, offset, timestamp));
      else {
        const { topic, key, value, headers } = message;
        log.entries.push({ topic, key, value, headers, partition: 0, offset: String(offset), timestamp });
      }
    }
    return messages.length;
  }

  #pumpSent(messages: OutgoingMessage[]): void {
    if (messages.length === 1) return this.#pumpAll(this.#log(messages[0]!.topic));
    for (const topic of new Set(messages.map((m) => m.topic))) this.#pumpAll(this.#log(topic));
  }

  async subscribe(subscription: Subscription): Promise<SubscriptionHandle> {
    const member: Member = { subscription, active: 0, idle: [] };
    const logs = subscription.topics.map((topic) => this.#log(topic));
    for (const log of logs) {
      let group = log.groups.get(subscription.group);
      if (!group) {
        group = { next: log.base, members: [], roundRobin: 0, inFlight: new Set(), consumed: false };
        log.groups.set(subscription.group, group);
      }
      group.members.push(member);
      group.consumed = true;
      log.consumedFrom ??= log.base + log.entries.length;
      this.#pump(log, group);
    }
    return {
      close: async () => {
        for (const log of logs) {
          const group = log.groups.get(subscription.group);
          if (group) group.members = group.members.filter((m) => m !== member);
        }
        while (member.active > 0) await new Promise<void>((resolve) => member.idle.push(resolve));
        for (const log of logs) this.#pumpAll(log);
        this.#wakeDrained();
      },
    };
  }

  /** Resolves once every message accepted before this call has been handled by every consuming group; later sends do not delay it. */
  drain(): Promise<void> {
    const ends = new Map<TopicLog, number>();
    for (const log of this.#topics.values()) ends.set(log, log.base + log.entries.length);
    const waiter: DrainWaiter = { ends, resolve: () => {} };
    if (this.#drained(waiter)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      waiter.resolve = resolve;
      this.#drainWaiters.push(waiter);
    });
  }

  /** Messages accepted and not yet handed to a group that consumes their topic: what closing now loses. */
  unfinished(): DeliveredMessage[] {
    const out = new Set<DeliveredMessage>();
    for (const log of this.#topics.values()) {
      for (const group of log.groups.values()) {
        if (!group.consumed) continue;
        for (let i = Math.max(group.next, log.base) - log.base; i < log.entries.length; i++) out.add(log.entries[i]!);
      }
    }
    return [...out];
  }

  /**
   * Says that no group will subscribe from now on: messages sent while nobody consumes their topic
   * are no longer kept for later groups, and those kept are released (what a consuming group has not
   * taken, or a closed group's backlog, stays). A `Koper` that made its own transport calls it once
   * `start()` has subscribed every listener (it refuses `register` after that). A group that
   * subscribes anyway starts at the end, as a Kafka group without commits does by default.
   */
  noLaterGroups(): void {
    this.#noLaterGroups = true;
    for (const log of this.#topics.values()) this.#trim(log);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const log of this.#topics.values()) this.#wake(log);
    // Nothing more will be handed out: a drain still waiting would wait forever.
    for (const waiter of this.#drainWaiters.splice(0)) waiter.resolve();
  }

  /** Messages accepted but not yet handed to `group` on `topic` (for tests and diagnostics). */
  lag(topic: string, group: string): number {
    const log = this.#topics.get(topic);
    const cursor = log?.groups.get(group)?.next ?? log?.base ?? 0;
    return log ? log.base + log.entries.length - cursor : 0;
  }

  // Every consuming group has taken and finished everything below the waiter's end offsets.
  #drained(waiter: DrainWaiter): boolean {
    for (const [log, end] of waiter.ends) {
      for (const group of log.groups.values()) {
        if (group.members.length === 0) continue;
        if (group.next < end) return false;
        for (const message of group.inFlight) if (Number(message.offset) < end) return false;
      }
    }
    return true;
  }

  #wakeDrained(): void {
    for (let i = this.#drainWaiters.length - 1; i >= 0; i--) {
      const waiter = this.#drainWaiters[i]!;
      if (!this.#drained(waiter)) continue;
      this.#drainWaiters.splice(i, 1);
      waiter.resolve();
    }
  }

  #log(topic: string): TopicLog {
    let log = this.#topics.get(topic);
    if (!log) {
      log = { base: 0, consumedFrom: undefined, entries: [], groups: new Map(), spaceWaiters: [] };
      this.#topics.set(topic, log);
    }
    return log;
  }

  #isFull(log: TopicLog): boolean {
    const end = log.base + log.entries.length;
    for (const group of log.groups.values()) {
      if (group.members.length > 0 && end - group.next >= this.#capacity) return true;
    }
    return false;
  }

  #pumpAll(log: TopicLog): void {
    for (const group of log.groups.values()) this.#pump(log, group);
    this.#trim(log);
  }

  #pump(log: TopicLog, group: Group): void {
    const end = log.base + log.entries.length;
    // Once closed nothing more is handed out: stop() has reported the rest as dropped.
    while (!this.#closed && group.next < end && group.members.length > 0) {
      const message = log.entries[group.next - log.base]!;
      const member = this.#memberFor(group, message.key);
      if (member.active >= member.subscription.maxInFlight) break;
      group.next++;
      group.inFlight.add(message);
      member.active++;
      void this.#deliver(log, group, member, message);
    }
    this.#wake(log);
  }

  // One async frame per message instead of a .catch().finally() chain and its closures.
  async #deliver(log: TopicLog, group: Group, member: Member, message: DeliveredMessage): Promise<void> {
    try {
      await member.subscription.handle(message);
    } catch (error) {
      this.#onDeliveryError(error, message);
    } finally {
      member.active--;
      group.inFlight.delete(message);
      if (member.active === 0 && member.idle.length > 0) for (const wake of member.idle.splice(0)) wake();
      this.#pumpAll(log);
      if (this.#drainWaiters.length > 0) this.#wakeDrained();
    }
  }

  // Keys stick to one member, so a member sees a key's messages in order.
  #memberFor(group: Group, key: string | null): Member {
    const index = key === null ? group.roundRobin++ : hash(key);
    return group.members[index % group.members.length]!;
  }

  #wake(log: TopicLog): void {
    if (log.spaceWaiters.length === 0 || (!this.#closed && this.#isFull(log))) return;
    const waiters = log.spaceWaiters.splice(0);
    for (const wake of waiters) wake();
  }

  // Drop what every consuming group has taken, except the messages retention keeps.
  #trim(log: TopicLog): void {
    const end = log.base + log.entries.length;
    const retained = end - this.#retention;
    let keepFrom = end;
    for (const group of log.groups.values()) {
      // A group whose members all closed is owed its backlog, up to `retention` messages.
      if (group.members.length > 0) keepFrom = Math.min(keepFrom, group.next);
      else if (group.consumed) keepFrom = Math.min(keepFrom, Math.max(group.next, retained));
    }
    // What was sent while nobody consumed the topic stays (the last `retention` messages) for groups
    // that subscribe later; once consumed, messages every group has taken are not held on to.
    const from = log.consumedFrom;
    if (!this.#noLaterGroups && (from === undefined || (log.base < from && retained < from))) keepFrom = Math.min(keepFrom, retained);
    const drop = keepFrom - log.base;
    if (drop <= 0 || (drop < 1024 && drop < log.entries.length)) return;
    log.entries.splice(0, drop);
    log.base += drop;
    for (const group of log.groups.values()) group.next = Math.max(group.next, log.base);
  }
}

/** FNV-1a: a cheap, stable string hash to spread keys over members. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
