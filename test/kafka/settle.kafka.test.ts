// Over Kafka, koper.settle() and koper.stop() wait for this process's own consumers: everything
// published so far is handled before they resolve (the transport's drain()), with a deadline of its own.
import { isKoperError, listen } from "@koper/core";
import { describe, expect, it } from "vitest";
import { brokerPerTest, koperFor, uniqueName, kafkaTransports } from "./support.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(kafkaTransports)("KafkaTransport: settle() and stop() wait for this process's consumers (on $name)", (kind) => {
  const env = brokerPerTest();

  it("settle() resolves only after a slow handler ran, including what that handler sent in turn", { timeout: 60_000 }, async () => {
    const [first, second] = [uniqueName("settle-a"), uniqueName("settle-b")];
    const koper = koperFor(env.broker.brokers, { kind, kafka: { partitions: 2 } });
    env.kopers.push(koper);
    const handled: string[] = [];
    koper.register(
      listen<string>({
        topic: first,
        group: uniqueName("g"), // one group per listener: kafkajs's assigner expects a group's members to share topics
        onMessage: async (text) => {
          await sleep(150); // slow: the broker accepted the messages long before this ends
          handled.push(text);
          await koper.sender.send(second, `${text} done`);
        },
      }),
      listen<string>({ topic: second, group: uniqueName("g"), onMessage: (text) => void handled.push(text) }),
    );
    await koper.start();
    for (const text of ["a", "b", "c"]) await koper.sender.send(first, text, { key: text });
    await koper.settle();
    expect([...handled].sort()).toEqual(["a", "a done", "b", "b done", "c", "c done"]);
  });

  it("stop() handles what was published before it, then resolves", { timeout: 60_000 }, async () => {
    const topic = uniqueName("stop");
    const koper = koperFor(env.broker.brokers, { kind, kafka: { partitions: 2 } });
    env.kopers.push(koper); // stopped after the test too, should its own stop() fail
    const handled: number[] = [];
    koper.register(
      listen<number>({
        topic,
        onMessage: async (n) => {
          await sleep(100);
          handled.push(n);
        },
      }),
    );
    await koper.start();
    for (let n = 0; n < 6; n++) await koper.sender.send(topic, n, { key: `k${n}` });
    await koper.stop({ deadlineMs: 30_000 });
    expect([...handled].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("settle() rejects with drain_deadline_exceeded when a handler does not finish in drainTimeoutMs", { timeout: 60_000 }, async () => {
    const topic = uniqueName("stuck");
    const koper = koperFor(env.broker.brokers, { kind, kafka: { partitions: 1, drainTimeoutMs: 1000 } });
    env.kopers.push(koper);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    koper.register(
      listen<string>({
        topic,
        onMessage: async () => {
          await gate;
          handled++;
        },
      }),
    );
    await koper.start();
    await koper.sender.send(topic, "stuck");
    const error: unknown = await koper.settle().then(() => undefined, (e: unknown) => e);
    expect(isKoperError(error) && error.code).toBe("drain_deadline_exceeded");
    expect((error as { details: { behind: unknown[] } }).details.behind).toEqual([
      expect.objectContaining({ topic, partition: 0, finished: "0", end: "1", joining: false }),
    ]);
    expect(handled).toBe(0);
    release();
    await koper.settle();
    expect(handled).toBe(1);
  });
});
