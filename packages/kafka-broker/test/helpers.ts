import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { Kafka, logLevel, Partitioners, type KafkaConfig, type Producer, type ProducerConfig } from "kafkajs";


/** A name no other test uses, e.g. for topics and groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** A quiet kafkajs client for the broker. */
export function kafkaFor(brokers: string[], extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({ clientId: uniqueName("test"), brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 }, ...extra });
}

/** A kafkajs producer with the default partitioner (silences the v2 partitioner warning). */
export function producerFor(kafka: Kafka, config: ProducerConfig = {}): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...config });
}

/**
 * Whether an external client is usable. Missing tools skip loudly on a laptop; under CI=true the
 * test must fail instead, so this returns true there and lets the test hit the real error.
 */
export function toolAvailable(name: string, probe: () => boolean): boolean {
  if (probe()) return true;
  if (process.env.CI === "true") return true;
  console.warn(`\n!!! SKIPPING ${name} tests: ${name} is not installed here (CI=true turns this into a failure) !!!\n`);
  return false;
}

/** Every executable named `name` on PATH, in PATH order. */
function onPath(name: string): string[] {
  return (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, name)).filter((file) => existsSync(file));
}

/** The first candidate for which `probe` succeeds, else the first candidate (so a failing test names it). */
function firstWorking(candidates: string[], probeArgs: string[]): string {
  return candidates.find((file) => spawnSync(file, probeArgs, { stdio: "ignore" }).status === 0) ?? candidates[0]!;
}

/** kcat: $KOPER_KCAT, else `kcat` or `kafkacat` on PATH. Looked up once, on first use. */
export function kcatPath(): string {
  return (kcat ??= process.env.KOPER_KCAT ?? firstWorking([...onPath("kcat"), ...onPath("kafkacat"), "kcat"], ["-V"]));
}
let kcat: string | undefined;

/**
 * A Python that imports kafka-python: $KOPER_PYTHON, else the first `python3` on PATH that can, else
 * /usr/bin/python3 (Debian's python3-kafka is visible only to the system interpreter, not a pyenv shim).
 */
export function pythonPath(): string {
  return (python ??=
    process.env.KOPER_PYTHON ?? firstWorking([...onPath("python3"), ...onPath("python"), "/usr/bin/python3"], ["-c", "import kafka"]));
}
let python: string | undefined;

/** Whether kcat runs. */
export function hasKcat(): boolean {
  return spawnSync(kcatPath(), ["-V"], { stdio: "ignore" }).status === 0;
}

/** Whether the Python found above can import kafka-python. */
export function hasKafkaPython(): boolean {
  return spawnSync(pythonPath(), ["-c", "import kafka"], { stdio: "ignore" }).status === 0;
}

/** Result of a finished child process. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (async, so the in-process broker keeps serving), with optional stdin. */
export function run(command: string, args: string[], input?: string | Buffer, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

/** Waits until `check` returns true, polling; fails with `what` after the hook/test timeout instead. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
