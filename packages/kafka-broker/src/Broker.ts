import { createServer, type Server, type Socket } from "node:net";
import { brokerConfigEntries, type BrokerSettings } from "./apis/config-entries.ts";
import type { BrokerContext } from "./apis/context.ts";
import { dispatch } from "./apis/dispatch.ts";
import { Connection, type ConnectionStats } from "./Connection.ts";
import { DEFAULTS } from "./defaults.ts";
import { BrokerError } from "./errors.ts";
import { decodeRecordBatch, type StoredRecord } from "./protocol/records.ts";
import { BrokerState } from "./state/BrokerState.ts";
import { DataDir } from "./store/DataDir.ts";
import type { TopicConfig } from "./state/Topic.ts";

/** Options of {@link startBroker}. */
export interface BrokerOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Interface to listen on; default "127.0.0.1". */
  readonly host?: string;
  /** Host announced to clients in Metadata; defaults to `host` (127.0.0.1 when listening on all interfaces). */
  readonly advertisedHost?: string;
  /** Node id, also the controller id in Metadata; default 1. */
  readonly nodeId?: number;
  /** Partitions of auto-created topics (and CreateTopics with -1); default 1. */
  readonly partitions?: number;
  /** Create unknown topics on Metadata (never on Produce), as Kafka's auto.create.topics.enable; default true. */
  readonly autoCreateTopics?: boolean;
  /** Memory budget per partition in bytes; the oldest batches are dropped beyond it. Default 64 MiB. */
  readonly maxPartitionBytes?: number;
  /** Stamp LogAppendTime on every batch instead of keeping the producer's CreateTime; default false. */
  readonly logAppendTime?: boolean;
  /** Largest request frame accepted; bigger ones close the connection. Default 100 MiB, as Kafka. */
  readonly maxRequestBytes?: number;
  /** Largest record batch accepted (`message.max.bytes`); bigger ones get MESSAGE_TOO_LARGE. Default 1048588, as Kafka. */
  readonly maxMessageBytes?: number;
  /** Largest replication factor CreateTopics accepts; default 1, the number of brokers, as Kafka. */
  readonly maxReplicationFactor?: number;
  /** Response bytes queued for one client beyond which its requests are not read until it catches up. Default 16 MiB. */
  readonly maxConnectionQueuedBytes?: number;
  /** Close a connection with no traffic and nothing running for this long (`connections.max.idle.ms`). Default 600000. */
  readonly connectionsMaxIdleMs?: number;
  /** Data of a stopped broker to serve again (topics, offsets, producer ids): how a restart keeps state. */
  readonly state?: BrokerState;
  /** Keep topics, logs, committed offsets and producer ids in this directory, so they survive a process restart. */
  readonly dataDir?: string;
  /** With `dataDir`: how often written data is fsynced, in ms. Default 1000. */
  readonly fsyncIntervalMs?: number;
  /** Receives diagnostic lines (closed connections and why); silent by default. */
  readonly log?: (line: string) => void;
}

/** Offsets of one partition, for tests. */
export interface PartitionOffsets {
  /** Partition index. */
  readonly partition: number;
  /** First offset still held. */
  readonly logStartOffset: number;
  /** Next offset to be written. */
  readonly highWatermark: number;
}

/** Starts an in-memory Kafka broker; resolves once it listens. */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const broker = new Broker(options);
  await broker.listen(options.port ?? 0);
  return broker;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw BrokerError.invalidOption(name, value, "a positive integer");
  return value;
}

/** A running broker: its address, introspection for tests, and stop(). Create it with {@link startBroker}. */
export class Broker {
  /** Topics, groups and producer ids; pass to `startBroker({ state })` after stop() to restart with the same data. */
  readonly state: BrokerState;
  /** Interface the broker listens on. */
  readonly host: string;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly stopController = new AbortController();
  private readonly defaultPartitions: number;
  private readonly topicDefaults: TopicConfig;
  private readonly settings: BrokerSettings;
  private readonly log: (line: string) => void;
  private readonly store: DataDir | undefined;
  private ctx: BrokerContext | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;

  /** Use {@link startBroker}; the constructor does not listen. */
  constructor(private readonly options: BrokerOptions) {
    this.host = options.host ?? "127.0.0.1";
    this.defaultPartitions = positive("partitions", options.partitions, DEFAULTS.partitions);
    this.topicDefaults = {
      maxPartitionBytes: positive("maxPartitionBytes", options.maxPartitionBytes, DEFAULTS.maxPartitionBytes),
      logAppendTime: options.logAppendTime ?? DEFAULTS.logAppendTime,
      maxMessageBytes: positive("maxMessageBytes", options.maxMessageBytes, DEFAULTS.maxMessageBytes),
    };
    this.log = options.log ?? (() => {});
    if (options.state && options.dataDir !== undefined) throw BrokerError.invalidOption("state", "a BrokerState", "either state or dataDir, not both");
    const fsyncIntervalMs = positive("fsyncIntervalMs", options.fsyncIntervalMs, DEFAULTS.fsyncIntervalMs);
    if (options.dataDir !== undefined) {
      const opened = DataDir.open(options.dataDir, fsyncIntervalMs);
      this.state = opened.state;
      this.store = opened.store;
    } else {
      this.state = options.state ?? new BrokerState();
    }
    if (this.state.inUse) throw BrokerError.stateInUse();
    const limits = {
      maxFrameBytes: positive("maxRequestBytes", options.maxRequestBytes, DEFAULTS.maxRequestBytes),
      maxQueuedBytes: positive("maxConnectionQueuedBytes", options.maxConnectionQueuedBytes, DEFAULTS.maxConnectionQueuedBytes),
      idleMs: positive("connectionsMaxIdleMs", options.connectionsMaxIdleMs, DEFAULTS.connectionsMaxIdleMs),
    };
    this.settings = {
      nodeId: options.nodeId ?? DEFAULTS.nodeId,
      defaultPartitions: this.defaultPartitions,
      autoCreateTopics: options.autoCreateTopics ?? DEFAULTS.autoCreateTopics,
      topicDefaults: this.topicDefaults,
      maxRequestBytes: limits.maxFrameBytes,
      connectionsMaxIdleMs: limits.idleMs,
      dataDir: options.dataDir === undefined ? undefined : { path: options.dataDir, fsyncIntervalMs },
      given: new Set(Object.entries(options).flatMap(([name, value]) => (value === undefined ? [] : [name]))),
    };
    this.server = createServer((socket: Socket) => {
      const clientHost = `/${socket.remoteAddress ?? ""}`; // as Kafka's DescribeGroups shows it
      const connection = new Connection(socket, (frame) => dispatch(this.context, frame, this.log, clientHost), limits, this.log);
      this.connections.add(connection);
      socket.on("close", () => this.connections.delete(connection));
    });
  }

  /** @internal Binds the server; called by startBroker. */
  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", (error) => {
        this.closeStore();
        reject(BrokerError.listenFailed(this.host, port, error));
      });
      this.server.listen(port, this.host, () => resolve());
    });
    this.state.inUse = true;
    const wildcard = this.host === "0.0.0.0" || this.host === "::";
    this.ctx = {
      state: this.state,
      nodeId: this.settings.nodeId,
      advertisedHost: this.options.advertisedHost ?? (wildcard ? "127.0.0.1" : this.host),
      port: this.port,
      defaultPartitions: this.defaultPartitions,
      autoCreateTopics: this.settings.autoCreateTopics,
      topicDefaults: this.topicDefaults,
      maxReplicationFactor: positive("maxReplicationFactor", this.options.maxReplicationFactor, DEFAULTS.maxReplicationFactor),
      brokerConfigs: brokerConfigEntries(this.settings),
      log: this.log,
      stopping: this.stopController.signal,
    };
    for (const group of this.state.groups.values()) group.resume();
    // Session and rebalance timeouts are checked on a short tick; unref'd so it never holds the process.
    this.sweeper = setInterval(() => {
      for (const group of this.state.groups.values()) group.tick();
    }, 50);
    this.sweeper.unref();
  }

  private get context(): BrokerContext {
    return this.ctx!;
  }

  /** The port the broker listens on. */
  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : (this.ctx?.port ?? 0);
  }

  /** Bootstrap list for clients, e.g. `["127.0.0.1:9092"]`. */
  get brokers(): string[] {
    return [`${this.context.advertisedHost}:${this.context.port}`];
  }

  /** Creates a topic; returns false when it already exists. The settings given are its own (DescribeConfigs: TOPIC_CONFIG). */
  createTopic(name: string, partitions = this.defaultPartitions, config: Partial<TopicConfig> = {}): boolean {
    const overrides = (Object.keys(config) as (keyof TopicConfig)[]).filter((key) => config[key] !== undefined);
    return this.state.createTopic(name, positive("partitions", partitions, 1), { ...this.topicDefaults, ...config }, overrides);
  }

  /** Names of all topics, sorted. */
  topics(): string[] {
    return [...this.state.topics.keys()].sort();
  }

  /** Log start offset and high watermark of each partition of a topic ([] when it does not exist). */
  offsets(topic: string): PartitionOffsets[] {
    const partitions = this.state.topics.get(topic)?.partitions ?? [];
    return partitions.map((p) => ({ partition: p.index, logStartOffset: p.logStartOffset, highWatermark: p.highWatermark }));
  }

  /** Records held in one partition from its log start offset, decoded (gzip and uncompressed batches only). */
  records(topic: string, partition = 0): StoredRecord[] {
    const held = this.state.topics.get(topic)?.partitions[partition];
    if (!held) return [];
    return [...held.batches()].flatMap((batch) => decodeRecordBatch(batch)).filter((r) => r.offset >= held.logStartOffset);
  }

  /** What each open connection holds (queued response bytes, held and running requests). */
  connectionStats(): ConnectionStats[] {
    return [...this.connections].map((c) => c.stats());
  }

  /** Offsets committed by a group, keyed "topic/partition". */
  committedOffsets(groupId: string): Map<string, number> {
    const result = new Map<string, number>();
    for (const [topic, byPartition] of this.state.groups.get(groupId)?.offsets ?? []) {
      for (const [partition, committed] of byPartition) result.set(`${topic}/${partition}`, committed.offset);
    }
    return result;
  }

  // Flushes and unlocks the data directory; the state stays usable in memory only.
  private closeStore(): void {
    this.store?.close();
    this.state.store = undefined;
  }

  /** Closes the server and every connection; idempotent. Data stays in `state` for a restart. */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      clearInterval(this.sweeper);
      this.stopController.abort();
      for (const group of this.state.groups.values()) group.shutdown();
      for (const connection of this.connections) connection.close();
      this.connections.clear();
      this.server.close(() => {
        this.closeStore();
        this.state.inUse = false;
        resolve();
      });
    });
    return this.stopped;
  }
}
