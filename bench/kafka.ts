// Kafka throughput on the embedded broker, in one run, side by side: raw kafkajs produce→consume and
// Koper publish→handler (capture → KafkaTransport → listener runtime), same broker, same batch size;
// and Koper over PlatformaticKafkaTransport (@platformatic/kafka), against the same raw kafkajs runs.
// The broker runs in its own process (its CLI), as a real broker would, so its CPU is not the clients'.
// Each mode reports events/s (best of the rounds) and this process's CPU per event (median): the CPU
// figure is what a loaded machine moves least. Koper runs with envelope v2 (the default) and v1.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dataListener, Koper, type OutgoingMessage } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { PlatformaticKafkaTransport } from "@koper/kafka/platformatic";
import { Kafka, logLevel, Partitioners, type IHeaders } from "kafkajs";
import "../test/support/quiet-kafkajs.ts";
import { median } from "./stats.ts";
import { fmt, report } from "./support.ts";


const EVENTS = 40_000;
const BATCH = 500;
const PARTITIONS = 4;
const KEYS = 1_000;
const ROUNDS = 3;
/** Koper's default `concurrency`: what its listener hands the transport as `maxInFlight`. */
const KOPER_CONCURRENCY = 16;
const CONSUMER = { sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: 5_000, maxWaitTimeInMs: 100 };

/** The shape of one raw message: how big its value is, which headers it carries. */
interface Shape {
  value: (id: number) => string;
  headers: (id: number) => IHeaders;
}

/** Raw kafkajs vs Koper over one embedded broker: events/s end to end and the ratios ours/raw. */
export async function runKafkaBench(): Promise<void> {
  const broker = await spawnBroker();
  const brokers = [broker.address];
  let run = 0;
  const topic = (name: string) => `bench-${name}-${process.pid}-${run++}`;
  try {
    console.log(`\nKafka (embedded broker in its own process; ${fmt(EVENTS)} events in batches of ${BATCH}, ${PARTITIONS} partitions, ${fmt(KEYS)} keys, best of ${ROUNDS})`);
    const rowShape: Shape = { value: (id) => JSON.stringify(row(id)), headers: (id) => ({ "koper-id": String(id) }) };
    const runs = { row: new Runs(), same: new Runs(), transport: new Runs(), koper: new Runs(), koperV1: new Runs(), koperPlt: new Runs() };
    let koperShape: Shape | undefined;
    let sample: Sample | undefined;
    let sampleV1: Sample | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      runs.row.add(await rawKafkajs(brokers, topic("raw"), rowShape));
      const ours = await koperOverKafka(brokers, topic("koper"), 2);
      runs.koper.add(ours);
      sample = ours.sample;
      koperShape ??= sameBytesAs(sample);
      runs.same.add(await rawKafkajs(brokers, topic("same"), koperShape));
      runs.transport.add(await transportAlone(brokers, topic("transport"), koperShape));
      const oursV1 = await koperOverKafka(brokers, topic("koper-v1"), 1);
      runs.koperV1.add(oursV1);
      sampleV1 = oursV1.sample;
      runs.koperPlt.add(await koperOverKafka(brokers, topic("koper-plt"), 2, "platformatic"));
    }
    const rowBytes = Buffer.byteLength(rowShape.value(1));
    const bytes = (s: Sample) => `${Buffer.byteLength(s.value)} B + ${headerBytes(s.headers)} B in ${Object.keys(s.headers).length} headers`;
    report(`raw kafkajs, the row as JSON (${rowBytes} B, 1 header)`, runs.row.text());
    report(`raw kafkajs, Koper-sized messages (same sizes and headers)`, runs.same.text());
    report(`KafkaTransport send→subscription, no Koper runtime`, runs.transport.text());
    report(`Koper capture→KafkaTransport→data listener, envelope v2`, runs.koper.text());
    report(`Koper, the same with envelopeVersion: 1`, runs.koperV1.text());
    report(`Koper over @platformatic/kafka (PlatformaticKafkaTransport), envelope v2`, runs.koperPlt.text());
    report("message, envelope v2", bytes(sample!));
    report("message, envelope v1", bytes(sampleV1!));
    report("ratio KafkaTransport alone / raw, same bytes (rate; CPU)", Runs.ratio(runs.transport, runs.same));
    report("ratio ours/raw, same bytes on the wire (goal ≥ 0.85)", Runs.ratio(runs.koper, runs.same));
    report("ratio ours/raw, bare rows (goal ≥ 0.60)", Runs.ratio(runs.koper, runs.row));
    report("ratio ours v1/raw, bare rows", Runs.ratio(runs.koperV1, runs.row));
    report("ratio ours on @platformatic/kafka/raw kafkajs, same bytes (goal ≥ 0.85)", Runs.ratio(runs.koperPlt, runs.same));
    report("ratio ours on @platformatic/kafka/raw kafkajs, bare rows (goal ≥ 0.60)", Runs.ratio(runs.koperPlt, runs.row));
  } finally {
    await broker.stop();
  }
}

type Sample = { value: string; headers: Record<string, string> };

function headerBytes(headers: Record<string, string>): number {
  let n = 0;
  for (const name in headers) n += Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
  return n;
}

/** One mode's rounds: events/s and this process's CPU µs per event. */
class Runs {
  readonly rates: number[] = [];
  readonly cpus: number[] = [];

  add(run: { rate: number; cpuPerEvent: number }): void {
    this.rates.push(run.rate);
    this.cpus.push(run.cpuPerEvent);
  }

  get best(): number {
    return Math.max(...this.rates);
  }

  get cpu(): number {
    return median(this.cpus);
  }

  text(): string {
    return `${fmt(this.best)} events/s, CPU ${fmt(this.cpu, 1)} µs/event`;
  }

  /** ours/raw: best rate over best rate, and raw's CPU per event over ours. */
  static ratio(ours: Runs, raw: Runs): string {
    return `${fmt(ours.best / raw.best, 2)}; CPU ${fmt(raw.cpu / ours.cpu, 2)}`;
  }
}

type Timed = { rate: number; cpuPerEvent: number };

// Starts the timed window: wall time and this process's CPU (user + system), per event at the end.
function clock(): () => Timed {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { rate: EVENTS / ((performance.now() - started) / 1000), cpuPerEvent: (used.user + used.system) / EVENTS };
  };
}

export function row(id: number): { id: number; customer: string; status: string; note: string; total: number } {
  return { id, customer: `customer-${id % 977}`, status: "paid", note: "x".repeat(200), total: id * 3 };
}

// Raw messages as big as Koper's, with its header names and value sizes, to isolate the runtime's cost.
function sameBytesAs(sample: { value: string; headers: Record<string, string> }): Shape {
  const pad = Math.max(0, sample.value.length - Buffer.byteLength(JSON.stringify({ ...row(1), pad: "" })));
  return {
    value: (id) => JSON.stringify({ ...row(id), pad: "p".repeat(pad) }),
    headers: (id) => ({ ...sample.headers, "koper-id": `${sample.headers["koper-id"]}-${id}` }),
  };
}

async function rawKafkajs(brokers: string[], topic: string, shape: Shape): Promise<Timed> {
  const kafka = new Kafka({ brokers, clientId: "bench-raw", logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  const consumer = kafka.consumer({ groupId: `${topic}-g`, ...CONSUMER });
  const admin = kafka.admin();
  await Promise.all([producer.connect(), consumer.connect(), admin.connect()]);
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const counter = new Counter();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) if (message.value) counter.add();
    },
  });
  const message = (id: number) => ({ key: `Order:${id % KEYS}`, value: shape.value(id), headers: shape.headers(id) });
  // Warm-up: the group has joined and metadata is cached before the clock starts.
  await producer.send({ topic, acks: -1, messages: [message(-1)] });
  await counter.reached(1);
  const stop = clock();
  for (let first = 0; first < EVENTS; first += BATCH) {
    const messages = Array.from({ length: BATCH }, (_, i) => message(first + i));
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  }
  await counter.reached(EVENTS + 1);
  const timed = stop();
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  return timed;
}

// The transport without the listener runtime: what KafkaTransport itself costs over kafkajs.
async function transportAlone(brokers: string[], topic: string, shape: Shape): Promise<Timed> {
  const transport = new KafkaTransport({ brokers, clientId: "bench-transport", logLevel: logLevel.NOTHING, partitions: PARTITIONS, consumer: CONSUMER });
  const counter = new Counter();
  await transport.connect();
  // Koper's default concurrency (16) bounds the messages in flight, as in the Koper run.
  const member = await transport.subscribe({ group: `${topic}-g`, topics: [topic], maxInFlight: KOPER_CONCURRENCY, handle: async () => counter.add() });
  const message = (id: number): OutgoingMessage => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(shape.headers(id))) headers[name] = String(value);
    // A Buffer, as Koper's encoder makes: kafkajs takes it without another view.
    return { topic, key: `Order:${id % KEYS}`, value: Buffer.from(shape.value(id), "utf8"), headers };
  };
  await transport.send([message(-1)]);
  await counter.reached(1);
  const stop = clock();
  for (let first = 0; first < EVENTS; first += BATCH) await transport.send(Array.from({ length: BATCH }, (_, i) => message(first + i)));
  await counter.reached(EVENTS + 1);
  const timed = stop();
  await member.close();
  await transport.close();
  return timed;
}

async function koperOverKafka(brokers: string[], prefix: string, envelopeVersion: 1 | 2, client: "kafkajs" | "platformatic" = "kafkajs"): Promise<Timed & { sample: Sample }> {
  const { maxWaitTimeInMs, ...timings } = CONSUMER;
  const transport =
    client === "kafkajs"
      ? new KafkaTransport({ brokers, clientId: "bench-koper", logLevel: logLevel.NOTHING, partitions: PARTITIONS, consumer: CONSUMER })
      : new PlatformaticKafkaTransport({ brokers, clientId: "bench-koper", partitions: PARTITIONS, consumer: { ...timings, rebalanceTimeout: timings.sessionTimeout, maxWaitTime: maxWaitTimeInMs } });
  const koper = new Koper({ transport, topics: { prefix }, envelopeVersion }); // Koper's defaults (concurrency 16)
  const counter = new Counter();
  let sample: { value: string; headers: Record<string, string> } | undefined;
  koper.register(
    dataListener<ReturnType<typeof row>>()({
      entity: "Order",
      group: `${prefix}-g`,
      onInsertOrder: () => counter.add(),
    }),
  );
  // What Koper put on the wire for one event, so the raw run can send the same bytes.
  const send = transport.send.bind(transport);
  transport.send = (messages) => {
    const first = messages[0];
    if (!sample && first) sample = { value: Buffer.from(first.value).toString(), headers: first.headers };
    return send(messages);
  };
  await koper.start();
  const write = async (ids: number[]) => {
    const tx = {};
    koper.capture.begin(tx);
    for (const id of ids) await koper.capture.record(tx, { entity: "Order", action: "insert", key: { id: id % KEYS }, data: row(id), source: { orm: "bench" } });
    await koper.capture.commit(tx);
  };
  await write([-1]);
  await counter.reached(1);
  const stop = clock();
  for (let first = 0; first < EVENTS; first += BATCH) await write(Array.from({ length: BATCH }, (_, i) => first + i));
  await counter.reached(EVENTS + 1);
  const timed = stop();
  const failed = koper.metrics().publishFailed;
  await koper.stop();
  if (failed > 0 || !sample) throw new Error(`bench: ${failed} Koper publish(es) failed`);
  return { ...timed, sample };
}

/** Counts handled messages; resolves waiters when a count is reached. */
class Counter {
  #count = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  add(): void {
    this.#count++;
    if (this.#waiters.length > 0) this.#waiters = this.#waiters.filter((w) => (this.#count >= w.n ? (w.resolve(), false) : true));
  }

  reached(n: number): Promise<void> {
    if (this.#count >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}

// The broker's CLI in a child process; resolves with its address once it listens.
export async function spawnBroker(): Promise<{ address: string; stop: () => Promise<void> }> {
  const cli = fileURLToPath(new URL("../packages/kafka-broker/src/cli.ts", import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ["--conditions=koper-source", "--import", "tsx", cli, "--port", "0"], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`bench: the broker exited with ${code} before listening: ${out}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Never leave a broker behind if the bench dies half-way.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    address,
    stop: async () => {
      process.off("exit", killOnExit);
      child.kill("SIGTERM");
      await exited;
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runKafkaBench();
