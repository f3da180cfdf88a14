import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type EachMessagePayload } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaFor, producerFor, run, uniqueName, until } from "./helpers.ts";

const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../..", import.meta.url));

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly address: string;
  readonly exit: Promise<number | null>;
}

// Runs the TypeScript CLI with tsx, as a developer would from the repo without building.
function startCli(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+:\d+)/.exec(output);
      if (match) resolve({ child, address: match[1]!, exit });
    });
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exit.then((code) => reject(new Error(`CLI exited (${code}) before listening: ${output}`)));
  });
}

describe("koper-kafka-broker CLI", () => {
  it("prints its address, serves clients, and exits 0 on SIGTERM", async () => {
    const { child, address, exit } = await startCli(["--port", "0", "--partitions", "2"]);
    const topic = uniqueName("cli");
    const kafka = kafkaFor([address]);
    const producer = producerFor(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "a", value: "through the CLI" }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(metadata.topics[0]!.partitions).toHaveLength(2);

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(String(message.value)) });
    await until(() => seen.length === 1, "the message");
    await consumer.disconnect();
    expect(seen).toEqual(["through the CLI"]);

    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("exits 0 on SIGINT and 1 with a reason when the port is taken", async () => {
    const first = await startCli(["--port", "0"]);
    const port = first.address.split(":")[1]!;
    const clash = await run(process.execPath, ["--import", "tsx", CLI, "--port", port]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/could not listen/);
    first.child.kill("SIGINT");
    expect(await first.exit).toBe(0);
  });
});
