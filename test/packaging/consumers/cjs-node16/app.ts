// A CommonJS application (module node16; tsc turns the imports into require calls), as most NestJS
// and many TypeORM projects are. It also loads the ESM build of @koper/core next to the CommonJS one
// (as an app does whose dependencies mix both) and uses them together.
import "reflect-metadata";
import { ConfigError, DataListener, isKoperError, Koper, Listen, type DataEvent, type MessageMeta } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { startBroker } from "@koper/kafka-broker";
import { koperTypeorm } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("orders")
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar" }) number!: string;
}

// Decorated with the CommonJS copy of @koper/core.
@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  constructor(readonly label: string) {}
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`${this.label}: insert ${order.number} by ${event.context.actor}`);
  }
}

let arrived: () => void = () => {};

@Listen({ topic: "consumer.cjs" })
class MessageListener {
  constructor(readonly label: string) {}
  onMessage(msg: string, meta: MessageMeta) {
    console.log(`${this.label}: ${meta.topic} ${msg}`);
    arrived();
  }
}

async function withTypeorm(koper: { register(l: object): unknown; start(): Promise<void>; stop(): Promise<void>; runWith<R>(c: { actor: string }, fn: () => R): R }, label: string) {
  const dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true });
  koper.register(new OrderListener(label));
  koperTypeorm(dataSource, koper as Koper);
  await dataSource.initialize();
  await koper.start();
  await koper.runWith({ actor: "bob" }, () => dataSource.getRepository(Order).save({ number: "C-1" }));
  await koper.stop();
  await dataSource.destroy();
}

async function main() {
  await withTypeorm(new Koper(), "cjs");

  const broker = await startBroker({ port: 0 });
  const received = new Promise<void>((resolve) => (arrived = resolve));
  const transport = new KafkaTransport({ brokers: broker.brokers, clientId: "cjs-app", consumer: { maxWaitTimeInMs: 100 } });
  const kafkaKoper = new Koper({ transport }).register(new MessageListener("kafka"));
  await kafkaKoper.start();
  await kafkaKoper.sender.send("consumer.cjs", "hello");
  await received;
  await kafkaKoper.stop();
  await broker.stop();

  // The ESM build: a second copy of every module of @koper/core in this process.
  const esm = await import("@koper/core");
  console.log(`two copies loaded: ${(esm.Koper as unknown) !== Koper}`);
  const esmKoper = new esm.Koper();
  const sent = new Promise<void>((resolve) => (arrived = resolve));
  esmKoper.register(new MessageListener("esm Koper, cjs @Listen"));
  await esmKoper.start();
  await esmKoper.sender.send("consumer.cjs", "hello");
  await sent;
  await esmKoper.stop();
  // The CommonJS adapter and a CommonJS-decorated data listener on an ESM Koper; context crosses too.
  await withTypeorm(new esm.Koper(), "esm Koper, cjs adapter");
  try {
    new esm.Koper().register({});
  } catch (error) {
    console.log(`isKoperError across copies: ${isKoperError(error)}; instanceof: ${error instanceof ConfigError}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
