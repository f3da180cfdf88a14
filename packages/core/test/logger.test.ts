import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, InProcessTransport, Koper, listen } from "@koper/core";
import { unique, until } from "./support.ts";

/** A console-shaped logger that keeps what it was given. */
function recorder() {
  const lines: { level: string; args: unknown[] }[] = [];
  const at = (level: string) => (...args: unknown[]) => void lines.push({ level, args });
  return { lines, logger: { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") } };
}

afterEach(() => vi.restoreAllMocks());

describe("createLogger", () => {
  it("passes message first, then fields, to a console-shaped logger", () => {
    const { lines, logger } = recorder();
    const log = createLogger(logger);
    log.info("hello", { topic: "t" });
    log.debug("plain");
    expect(lines).toEqual([
      { level: "info", args: ["hello", { topic: "t" }] },
      { level: "debug", args: ["plain"] },
    ]);
  });

  it("passes fields first to a pino logger (it has bindings())", () => {
    const { lines, logger } = recorder();
    const pinoLike = { ...logger, bindings: () => ({}) };
    const log = createLogger(pinoLike);
    log.warn("careful", { topic: "t" });
    expect(lines).toEqual([{ level: "warn", args: [{ topic: "t" }, "careful"] }]);
  });

  it("drops levels the target lacks", () => {
    const { lines, logger } = recorder();
    const log = createLogger({ error: logger.error, warn: logger.warn });
    log.info("dropped");
    log.debug("dropped");
    log.error("kept");
    expect(lines).toEqual([{ level: "error", args: ["kept"] }]);
  });

  it("is quiet by default except for warnings and errors", () => {
    const info = vi.spyOn(console, "info").mockImplementation(() => {});
    const debug = vi.spyOn(console, "debug").mockImplementation(() => {});
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const logger = createLogger();
    logger.info("i");
    logger.debug("d");
    logger.warn("w");
    logger.error("e");
    expect([info.mock.calls, debug.mock.calls, log.mock.calls]).toEqual([[], [], []]);
    expect(warn.mock.calls).toEqual([["w"]]);
    expect(error.mock.calls).toEqual([["e"]]);
  });
});

describe("Koper's logger option", () => {
  it("reports a throwing lifecycle listener through the logger, not the console", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { lines, logger } = recorder();
    const topic = unique("t");
    const koper = new Koper({ logger }).register(listen({ topic, onMessage: () => {} }));
    koper.on("handled", () => {
      throw new Error("subscriber bug");
    });
    await koper.start();
    await koper.sender.send(topic, 1);
    await koper.stop();
    const reported = lines.find((line) => String(line.args[0]).includes("lifecycle listener threw"));
    expect(reported?.level).toBe("error");
    expect((reported?.args[1] as { error: Error }).error.message).toBe("subscriber bug");
    expect(error).not.toHaveBeenCalled();
  });

  it("hands the logger to the transport: a failed in-process delivery is logged there", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { lines, logger } = recorder();
    const transport = new InProcessTransport();
    const koper = new Koper({ logger, transport });
    const topic = unique("t");
    await koper.start();
    await transport.subscribe({
      group: unique("g"),
      topics: [topic],
      maxInFlight: 1,
      handle: async () => {
        throw new Error("handler of a raw subscription");
      },
    });
    await koper.sender.send(topic, "x");
    await until(() => lines.length > 0, "the delivery failure to be logged");
    await koper.stop();
    expect(lines[0]).toMatchObject({ level: "error", args: ["[koper] in-process delivery failed", { topic }] });
    expect(error).not.toHaveBeenCalled();
  });
});
