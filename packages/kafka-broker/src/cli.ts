#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startBroker, type BrokerOptions } from "./Broker.ts";

// Read before anything else: whoever launched the broker (see watchParent).
const LAUNCHER_PID = process.ppid;

const USAGE = `Usage: koper-kafka-broker [--port 9092] [--host 127.0.0.1] [--partitions 1] [--max-partition-bytes N]
       [--max-message-bytes 1048588] [--max-replication-factor 1] [--connections-max-idle-ms 600000]
       [--data-dir DIR [--fsync-interval-ms 1000]] [--no-auto-create] [--verbose]
A Kafka broker for tests and local development. Without --data-dir, data is lost when it stops;
with it, topics, data and committed offsets survive a restart.`;

// Numeric flags and the startBroker option each sets.
const NUMERIC = {
  partitions: "partitions",
  "max-partition-bytes": "maxPartitionBytes",
  "max-message-bytes": "maxMessageBytes",
  "max-replication-factor": "maxReplicationFactor",
  "connections-max-idle-ms": "connectionsMaxIdleMs",
  "fsync-interval-ms": "fsyncIntervalMs",
} as const;

function parseOptions(argv: string[]): BrokerOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "9092" },
      host: { type: "string", default: "127.0.0.1" },
      ...Object.fromEntries(Object.keys(NUMERIC).map((flag) => [flag, { type: "string" as const }])),
      "data-dir": { type: "string" },
      "no-auto-create": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const numbers: Record<string, number> = {};
  for (const [flag, option] of Object.entries(NUMERIC)) {
    const value = (values as Record<string, unknown>)[flag];
    if (typeof value === "string") numbers[option] = Number(value);
  }
  return {
    port: Number(values.port),
    host: values.host as string,
    // Only flags given count as set (DescribeConfigs reports the others as defaults).
    ...(values["no-auto-create"] ? { autoCreateTopics: false } : {}),
    ...numbers,
    ...(typeof values["data-dir"] === "string" ? { dataDir: values["data-dir"] } : {}),
    ...(values.verbose ? { log: (line: string) => console.error(`[kafka-broker] ${line}`) } : {}),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) {
    console.log(USAGE);
    return;
  }
  const broker = await startBroker(options);
  // Tests and scripts read this line to learn the port when started with --port 0.
  console.log(`koper-kafka-broker listening on ${broker.brokers[0]}`);
  let stopping = false;
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`koper-kafka-broker: ${reason}, stopping`);
    void broker.stop().then(() => process.exit(0));
  };
  // Output to a parent that is gone must not turn a clean stop into a crash.
  process.stdout.on("error", () => {});
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => shutdown(`${signal} received`));
  watchParent(() => shutdown("the process that started it exited"));
}

// `npx koper-kafka-broker` runs the bin under `npm exec` and `sh -c`: a SIGTERM to npx ends the
// wrapper, not this process, which would keep the port forever. When the parent goes away the
// process is re-parented, so a changed ppid means whoever launched the broker is gone.
// The launcher is taken at module load, not here: a launcher killed as soon as "listening" is printed
// could be gone already, and the re-parented ppid would then look like the launcher.
function watchParent(onGone: () => void): void {
  const timer = setInterval(() => {
    if (process.ppid !== LAUNCHER_PID) onGone();
  }, 200);
  timer.unref();
}

main().catch((error: unknown) => {
  console.error(`koper-kafka-broker: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && /startBroker|parseArgs|Unknown option/i.test(`${error.message} ${(error as { code?: string }).code ?? ""}`)) console.error(USAGE);
  process.exit(1);
});
