// A CommonJS application (module node16; tsc turns the imports into require calls), as most NestJS
// and many TypeORM projects are. It also loads the ESM build of @koper/core next to the CommonJS one
// (as an app does whose dependencies mix both) and uses them together.
import "reflect-metadata";
import { ConfigError, DataListener, isKoperError, Koper, Listen, type DataEvent, type MessageMeta } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { startBroker } from "@koper/kafka-broker";
import { koperPrisma } from "@koper/prisma";
import { koperTypeorm } from "@koper/typeorm";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";
import { PrismaClient, type Order as PrismaOrder } from "./generated/client";

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

@DataListener<"Order", PrismaOrder>({ entity: "Order" })
class PrismaOrderListener {
  onInsertOrder(order: PrismaOrder, event: DataEvent<PrismaOrder>) {
    console.log(`cjs prisma: insert ${order.number} into ${event.source.table} by ${event.context.actor}`);
  }
}

// @koper/prisma's CommonJS build next to a client generated with moduleFormat "cjs".
async function withPrisma() {
  // import(), not require: the adapter's CommonJS declarations import the ESM-only @libsql/client,
  // which TypeScript refuses under node16 (TS1479); at run time both ways work.
  const { PrismaLibSql } = await import("@prisma/adapter-libsql");
  const file = join(tmpdir(), `koper-consumer-cjs-${process.pid}.db`);
  const base = new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${file}` }) });
  await base.$executeRawUnsafe("CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE, qty INTEGER NOT NULL)");
  const koper = new Koper().register(new PrismaOrderListener());
  await koper.start();
  const prisma = base.$extends(koperPrisma(koper));
  await koper.runWith({ actor: "bob" }, () => prisma.order.create({ data: { number: "P-1", qty: 1 } }));
  await koper.stop();
  await base.$disconnect();
  rmSync(file);
}

async function main() {
  await withTypeorm(new Koper(), "cjs");
  await withPrisma();

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
