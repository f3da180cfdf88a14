// Regression (issue 13, item 8): a producer that lost the broker it was connected to failed with
// transport_failed, retriable: false — kafkajs wraps the refused connection in a non-retriable error.
import { isKoperError, type OutgoingMessage } from "@koper/core";
import { startBroker } from "@koper/kafka-broker";
import { KafkaTransport } from "@koper/kafka";
import { logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../kafka/support.ts";

function message(topic: string, n: number): OutgoingMessage {
  return { topic, key: `k${n}`, value: Buffer.from(JSON.stringify({ n })), headers: {} };
}

describe("KafkaTransport: a producer that loses the broker it was connected to", () => {
  it("fails the send with transport_failed and retriable: true (the innermost cause is a refused connection)", { timeout: 60_000 }, async () => {
    const broker = await startBroker({ port: 0 });
    const topic = uniqueName("lost");
    // Short retries keep the test quick; the classification does not depend on them.
    const transport = new KafkaTransport({ brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 200 } });
    try {
      await transport.connect();
      await transport.send([message(topic, 1)]);
      expect(broker.offsets(topic)[0]!.highWatermark).toBe(1);
      await broker.stop();
      const error = await transport.send([message(topic, 2)]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isKoperError(error)).toBe(true);
      expect(error).toMatchObject({ code: "transport_failed", retriable: true });
      // The wrapper kafkajs throws says non-retriable; the error it wraps is the refused connection.
      expect((error as { cause?: { retriable?: unknown } }).cause?.retriable).toBe(false);
    } finally {
      await transport.close();
      await broker.stop();
    }
  });
});
