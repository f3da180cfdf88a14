#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startBroker, type BrokerOptions } from "./Broker.ts";

const USAGE = `Usage: koper-kafka-broker [--port 9092] [--host 127.0.0.1] [--partitions 1] [--max-partition-bytes N] [--no-auto-create] [--verbose]
An in-memory Kafka broker for tests and local development. Data is lost when it stops.`;

function parseOptions(argv: string[]): BrokerOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "9092" },
      host: { type: "string", default: "127.0.0.1" },
      partitions: { type: "string" },
      "max-partition-bytes": { type: "string" },
      "no-auto-create": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  return {
    port: Number(values.port),
    host: values.host,
    autoCreateTopics: !values["no-auto-create"],
    ...(values.partitions !== undefined ? { partitions: Number(values.partitions) } : {}),
    ...(values["max-partition-bytes"] !== undefined ? { maxPartitionBytes: Number(values["max-partition-bytes"]) } : {}),
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
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, 200);
  timer.unref();
}

main().catch((error: unknown) => {
  console.error(`koper-kafka-broker: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && error.message.includes("startBroker")) console.error(USAGE);
  process.exit(1);
});
