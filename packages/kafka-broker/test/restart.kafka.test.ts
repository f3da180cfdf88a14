import { type EachMessagePayload } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { startBroker, type Broker } from "@koper/kafka-broker";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";

const running: Broker[] = [];
afterAll(async () => {
  await Promise.all(running.map((b) => b.stop()));
});

describe("restarting a broker on the same port with its state", () => {
  it("keeps topics, data and committed offsets; clients reconnect", async () => {
    const first = await startBroker({ port: 0 });
    running.push(first);
    const topic = uniqueName("restart");
    const groupId = uniqueName("g");
    const kafka = kafkaFor(first.brokers, { retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 } });
    const producer = producerFor(kafka, { idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: "before-1" }, { value: "before-2" }] });

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 100, retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 } });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => void seen.push(String(message.value)) });
    await until(() => seen.length === 2, "messages before the restart");
    await until(() => first.committedOffsets(groupId).get(`${topic}/0`) === 2, "the commit before the restart");

    await first.stop();
    await first.stop(); // idempotent
    const second = await startBroker({ port: first.port, state: first.state });
    running.push(second);
    expect(second.port).toBe(first.port);
    expect(second.topics()).toContain(topic);

    // The same producer and consumer objects reconnect to the restarted broker.
    await producer.send({ topic, messages: [{ value: "after-1" }] });
    await until(() => seen.includes("after-1"), "the message produced after the restart");
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
    expect(seen.filter((v) => v.startsWith("before"))).toEqual(["before-1", "before-2"]); // resumed, not re-read
    expect(second.records(topic).map((r) => r.value?.toString())).toEqual(["before-1", "before-2", "after-1"]);
    expect(second.committedOffsets(groupId).get(`${topic}/0`)).toBe(3);
  });

  it("refuses to serve one state from two running brokers", async () => {
    const broker = await startBroker({ port: 0 });
    running.push(broker);
    await expect(startBroker({ port: 0, state: broker.state })).rejects.toThrow(/still served/);
  });
});
