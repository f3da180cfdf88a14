import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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
  return startCommand(process.execPath, ["--import", "tsx", CLI, ...args], REPO);
}

function startCommand(command: string, args: string[], cwd: string): Promise<Started> {
  const child = spawn(command, args, { cwd });
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

  it("keeps topics (with their partition count), data and offsets across a restart with --data-dir", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "koper-cli-data-"));
    try {
      const topic = uniqueName("cli-durable");
      const first = await startCli(["--port", "0", "--data-dir", dir, "--fsync-interval-ms", "100"]);
      const kafka = kafkaFor([first.address]);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
      await admin.disconnect();
      const producer = producerFor(kafka);
      await producer.connect();
      await producer.send({ topic, messages: [{ key: "a", value: "kept" }] });
      await producer.disconnect();
      first.child.kill("SIGTERM");
      expect(await first.exit).toBe(0);

      const second = await startCli(["--port", "0", "--data-dir", dir]);
      const again = kafkaFor([second.address]);
      const admin2 = again.admin();
      await admin2.connect();
      const metadata = await admin2.fetchTopicMetadata({ topics: [topic] });
      await admin2.disconnect();
      expect(metadata.topics[0]!.partitions).toHaveLength(3);
      const seen: string[] = [];
      const consumer = again.consumer({ groupId: uniqueName("g"), maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(String(message.value)) });
      await until(() => seen.length === 1, "the message kept across the restart");
      await consumer.disconnect();
      expect(seen).toEqual(["kept"]);
      second.child.kill("SIGTERM");
      expect(await second.exit).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops when npx is sent SIGTERM, though npm exec and sh -c stand between them", { timeout: 120_000 }, async () => {
    // The package as npm installs it: built dist/, a node_modules/.bin link, run with npx.
    const root = mkdtempSync(join(tmpdir(), "koper-npx-"));
    try {
      const pkg = join(root, "node_modules", "@koper", "kafka-broker");
      mkdirSync(join(root, "node_modules", ".bin"), { recursive: true });
      mkdirSync(pkg, { recursive: true });
      const tsc = join(REPO, "node_modules", "typescript", "bin", "tsc");
      const build = await run(process.execPath, [tsc, "-p", join(REPO, "packages/kafka-broker/tsconfig.build.json"), "--outDir", join(pkg, "dist"), "--declaration", "false", "--declarationMap", "false", "--sourceMap", "false"], undefined, 100_000);
      expect(build.code, build.stdout + build.stderr).toBe(0);
      copyFileSync(join(REPO, "packages/kafka-broker/package.json"), join(pkg, "package.json"));
      chmodSync(join(pkg, "dist", "cli.js"), 0o755);
      symlinkSync("../@koper/kafka-broker/dist/cli.js", join(root, "node_modules", ".bin", "koper-kafka-broker"));
      writeFileSync(join(root, "package.json"), JSON.stringify({ name: "app", private: true }));
      const besideNode = join(dirname(process.execPath), "npx");
      const npx = existsSync(besideNode) ? besideNode : "npx";
      const { child, address, exit } = await startCommand(npx, ["--no-install", "koper-kafka-broker", "--port", "0"], root);
      const port = Number(address.split(":")[1]);
      expect(await accepts(port)).toBe(true);
      child.kill("SIGTERM"); // reaches npm exec only
      await exit;
      await until(async () => !(await accepts(port)), "the broker behind npx to stop listening");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}
