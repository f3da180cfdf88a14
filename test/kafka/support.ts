import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Koper, type KoperOptions } from "@koper/core";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { afterEach, beforeEach } from "vitest";
import { KafkaTransport, type KafkaTransportOptions } from "@koper/kafka";
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

/** A Koper over a test KafkaTransport, with fast retries, data events on `<prefix>.<Entity>`. */
export function koperFor(brokers: string[], options: KoperOptions & { kafka?: Partial<KafkaTransportOptions> } = {}): Koper {
  const { kafka, ...rest } = options;
  return new Koper({ transport: transportFor(brokers, kafka), retry: { retries: 2, initialDelayMs: 5, maxDelayMs: 20 }, ...rest });
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
