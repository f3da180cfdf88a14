import type { Reader } from "../protocol/Reader.ts";
import type { Writer } from "../protocol/Writer.ts";
import type { BrokerState } from "../state/BrokerState.ts";
import type { TopicConfig } from "../state/Topic.ts";
import type { ConfigEntry } from "./config-entries.ts";

/** What every API handler may use: the shared state and the broker's identity and settings. */
export interface BrokerContext {
  /** Topics, groups and producer ids. */
  readonly state: BrokerState;
  /** This broker's node id, also reported as the controller. */
  readonly nodeId: number;
  /** Host clients are told to connect to. */
  readonly advertisedHost: string;
  /** Port clients are told to connect to. */
  readonly port: number;
  /** Partitions given to auto-created topics and CreateTopics with -1. */
  readonly defaultPartitions: number;
  /** Whether Metadata and Produce create unknown topics. */
  readonly autoCreateTopics: boolean;
  /** Default per-topic settings. */
  readonly topicDefaults: TopicConfig;
  /** Largest replication factor CreateTopics accepts (one broker: 1). */
  readonly maxReplicationFactor: number;
  /** The broker's own settings as DescribeConfigs reports them. */
  readonly brokerConfigs: readonly ConfigEntry[];
  /** Diagnostic lines. */
  readonly log: (line: string) => void;
  /** Aborted when the broker stops, so long-polling fetches answer at once. */
  readonly stopping: AbortSignal;
}

/** Request header v1 fields. */
export interface RequestHeader {
  /** API key. */
  readonly apiKey: number;
  /** API version. */
  readonly apiVersion: number;
  /** Correlation id echoed in the response. */
  readonly correlationId: number;
  /** Client id ("" when null). */
  readonly clientId: string;
  /** The client's address as Kafka reports it ("/127.0.0.1"), not part of the wire header. */
  readonly clientHost: string;
}

/** One API's handler: decodes the body and returns the response body, or null for "no response" (acks=0). */
export type ApiHandler = (ctx: BrokerContext, header: RequestHeader, body: Reader) => Writer | null | Promise<Writer | null>;
