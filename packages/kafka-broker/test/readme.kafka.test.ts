import { Kafka, logLevel, Partitioners } from "kafkajs";
import { expect, it } from "vitest";
import { startBroker } from "@koper/kafka-broker";
import "./helpers.ts"; // only for its filter of kafkajs's Node 24 timer warning

// The README's quick-start snippet, kept runnable here so the README stays true.
it("runs the README example", async () => {
  const broker = await startBroker({ port: 0, partitions: 3 });
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic: "orders", messages: [{ key: "order-1", value: "created" }] });
  await producer.disconnect();

  broker.createTopic("audit", 1); // or let producers auto-create topics
  const [partition] = broker.offsets("orders").filter((p) => p.highWatermark > 0);
  expect(broker.records("orders", partition!.partition)[0]?.value?.toString()).toBe("created");
  expect(broker.topics()).toEqual(["audit", "orders"]);

  // Restart on the same port with the same topics, data and committed offsets:
  await broker.stop();
  const restarted = await startBroker({ port: broker.port, state: broker.state });
  expect(restarted.topics()).toEqual(["audit", "orders"]);
  await restarted.stop();
});
