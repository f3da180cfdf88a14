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
  const shutdown = (signal: string) => {
    console.log(`koper-kafka-broker: ${signal} received, stopping`);
    void broker.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(`koper-kafka-broker: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && error.message.includes("startBroker")) console.error(USAGE);
  process.exit(1);
});
