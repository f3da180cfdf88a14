import { Koper, listen } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { logLevel } from "kafkajs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { brokerPerTest, FAST_CONSUMER, uniqueName, until } from "./support.ts";

/** A console-shaped logger that keeps what it was given. */
function recorder() {
  const lines: { level: string; message: string; fields: unknown }[] = [];
  const at = (level: string) => (message: string, fields?: unknown) => void lines.push({ level, message, fields });
  return { lines, logger: { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") } };
}

/** Spies on every console method kafkajs's own logger would write with. */
function consoleSpies() {
  return (["log", "info", "warn", "error", "debug"] as const).map((name) => vi.spyOn(console, name).mockImplementation(() => {}));
}

afterEach(() => vi.restoreAllMocks());

describe("kafkajs logs go through Koper's logger", () => {
  const env = brokerPerTest();

  async function roundTrip(koper: Koper, topic: string): Promise<void> {
    const got: string[] = [];
    koper.register(listen({ topic, group: uniqueName("g"), onMessage: (m: string) => void got.push(m) }));
    env.kopers.push(koper);
    await koper.start();
    await koper.sender.send(topic, "hello");
    await until(() => got.length === 1, "the message to arrive");
    await koper.stop();
  }

  function transport(extra: { logLevel?: logLevel } = {}) {
    return new KafkaTransport({ brokers: env.broker.brokers, clientId: uniqueName("c"), consumer: FAST_CONSUMER, ...extra });
  }

  it("routes kafkajs's INFO entries to the logger given to Koper, with their fields, and prints nothing", async () => {
    const spies = consoleSpies();
    const { lines, logger } = recorder();
    await roundTrip(new Koper({ transport: transport(), logger }), uniqueName("logs"));
    const kafkajs = lines.filter((line) => line.message.startsWith("[kafkajs"));
    expect(kafkajs.some((line) => line.level === "info")).toBe(true);
    expect(kafkajs.some((line) => typeof (line.fields as { groupId?: unknown } | undefined)?.groupId === "string")).toBe(true);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it("is quiet by default: kafkajs's INFO lines (one per connect) are not printed", async () => {
    const spies = consoleSpies();
    await roundTrip(new Koper({ transport: transport() }), uniqueName("quiet"));
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it("keeps an application's own kafkajs logCreator", async () => {
    const own: string[] = [];
    const { lines, logger } = recorder();
    const t = new KafkaTransport({
      brokers: env.broker.brokers,
      clientId: uniqueName("c"),
      consumer: FAST_CONSUMER,
      logCreator: () => (entry) => void own.push(entry.log.message),
    });
    await roundTrip(new Koper({ transport: t, logger }), uniqueName("own"));
    expect(own.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.message.startsWith("[kafkajs"))).toEqual([]);
  });
});
