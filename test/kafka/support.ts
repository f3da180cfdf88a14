import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Koper, type KoperOptions } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, beforeEach } from "vitest";
import { KafkaTransport, type KafkaTransportOptions } from "@koper/kafka";
import { PlatformaticKafkaTransport, type PlatformaticKafkaTransportOptions } from "@koper/kafka/platformatic";
import { Kafka, logLevel, Partitioners, type Consumer, type KafkaConfig } from "kafkajs";


/**
 * A fresh embedded broker for each test of the calling `describe`, stopped after it together with
 * every Koper the test pushed onto `kopers`.
 */
export function brokerPerTest(): { readonly broker: Broker; readonly kopers: Koper[] } {
  let broker: Broker | undefined;
  const kopers: Koper[] = [];
  beforeEach(async () => {
    broker = await startBroker({ port: 0 });
  });
  afterEach(async () => {
    await Promise.allSettled(kopers.splice(0).map((k) => k.stop()));
    await broker?.stop();
  });
  return {
    get broker() {
      if (!broker) throw new Error("brokerPerTest(): the broker exists only inside a test");
      return broker;
    },
    kopers,
  };
}

/** A name no other test uses (topics, groups, topic prefixes). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** Consumer settings that make group joins, rebalances and session expiry quick against a local broker. */
export const FAST_CONSUMER = {
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  rebalanceTimeout: 3000,
  maxWaitTimeInMs: 100,
} as const;

/** A quiet kafkajs client config for `brokers`. */
export function clientConfig(brokers: string[]): KafkaConfig {
  return { brokers, clientId: uniqueName("test"), logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 8 } };
}

/** A KafkaTransport tuned for tests. */
export function transportFor(brokers: string[], extra: Partial<KafkaTransportOptions> = {}): KafkaTransport {
  return new KafkaTransport({ ...clientConfig(brokers), consumer: FAST_CONSUMER, ...extra });
}

/** Either Kafka transport: kafkajs's (the default) or @platformatic/kafka's. */
export type AnyKafkaTransport = KafkaTransport | PlatformaticKafkaTransport;

/** A test transport's options, in KafkaTransport's terms; each kind maps them onto its client. */
export type TestTransportOptions = Partial<KafkaTransportOptions>;

/** One Kafka transport the transport-level tests run over. */
export interface KafkaTransportKind {
  name: "kafkajs" | "platformatic";
  create(brokers: string[], extra?: TestTransportOptions): AnyKafkaTransport;
}

// KafkaTransport's test options as PlatformaticKafkaTransport's: Koper's own pass through, the
// consumer timings map onto its consumer's, kafkajs's retry onto its client's.
function platformaticOptions(brokers: string[], extra: TestTransportOptions): PlatformaticKafkaTransportOptions {
  const { consumer, retry, compression, brokers: _brokers, logLevel: _logLevel, producer: _producer, partitionsConsumedConcurrently: _p, clientId, ...koper } = extra;
  const timings = { ...FAST_CONSUMER, ...consumer };
  // @platformatic/kafka's idempotent producer takes no fewer than 2 retries.
  const retries = Math.max(2, retry?.retries ?? 8);
  return {
    brokers: Array.isArray(_brokers) ? _brokers : brokers,
    clientId: clientId ?? uniqueName("test"),
    ...koper,
    ...(compression === undefined ? {} : { compression: compression as "gzip" }),
    client: { retries, retryDelay: retry?.initialRetryTime ?? 100 },
    consumer: { sessionTimeout: timings.sessionTimeout, heartbeatInterval: timings.heartbeatInterval, rebalanceTimeout: Math.max(timings.rebalanceTimeout ?? 0, timings.sessionTimeout ?? 0), maxWaitTime: timings.maxWaitTimeInMs },
  };
}

/** The Kafka transports every transport-level test runs over, once each: `describe.each(kafkaTransports)`. */
export const kafkaTransports: readonly KafkaTransportKind[] = [
  { name: "kafkajs", create: (brokers, extra = {}) => transportFor(brokers, extra) },
  { name: "platformatic", create: (brokers, extra = {}) => new PlatformaticKafkaTransport(platformaticOptions(brokers, extra)) },
];

/** A Koper over a test Kafka transport (`kind`, default kafkajs's), with fast retries, data events on `<prefix>.<Entity>`. */
export function koperFor(brokers: string[], options: KoperOptions & { kafka?: Partial<KafkaTransportOptions>; kind?: KafkaTransportKind } = {}): Koper {
  const { kafka, kind, ...rest } = options;
  const transport = kind ? kind.create(brokers, kafka) : transportFor(brokers, kafka);
  return new Koper({ transport, retry: { retries: 2, initialDelayMs: 5, maxDelayMs: 20 }, ...rest });
}

/** A plain kafkajs client, for producing and reading around Koper. */
export function plainKafka(brokers: string[]): Kafka {
  return new Kafka(clientConfig(brokers));
}

/** Produces raw messages with plain kafkajs. */
export async function produceRaw(brokers: string[], topic: string, messages: { key?: string; value: Buffer | string }[]): Promise<void> {
  const producer = plainKafka(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/** A message read back with plain kafkajs. */
export interface ReadMessage {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/** Reads `count` messages of `topic` from the beginning with a throwaway group. */
export async function readTopic(brokers: string[], topic: string, count: number, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const consumer: Consumer = plainKafka(brokers).consumer({ groupId: uniqueName("reader"), ...FAST_CONSUMER });
  const out: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[name] = String(value);
        out.push({ key: message.key?.toString() ?? null, value: message.value, headers, partition, offset: message.offset });
      },
    });
    await until(() => out.length >= count, `${count} message(s) on ${topic} (got ${out.length})`, timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Polls until `check` is true; throws with `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A child process running a TypeScript script from test/kafka/fixtures with workspace sources. */
export interface Child {
  process: ChildProcess;
  /** Lines the child printed to stdout so far. */
  lines: string[];
  /** Resolves with the exit code (or signal) when the child ends. */
  exited: Promise<number | string | null>;
}

/** Starts `fixtures/<script>` as `node --conditions=koper-source --import tsx`, passing `env`. */
export function spawnFixture(script: string, env: Record<string, string>): Child {
  const path = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
  const child = spawn(process.execPath, ["--conditions=koper-source", "--import", "tsx", path], {
    // From the repository root, so `tsx` and the workspace packages resolve.
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    env: { ...process.env, ...env, KAFKAJS_NO_PARTITIONER_WARNING: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) => {
    child.on("exit", (code, signal) => {
      if (code !== 0 && code !== null && stderr) console.error(`[fixture ${script}] ${stderr}`);
      resolve(code ?? signal);
    });
  });
  return { process: child, lines, exited };
}
