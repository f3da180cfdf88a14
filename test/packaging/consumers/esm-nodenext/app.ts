// An ESM application (moduleResolution nodenext): TypeORM through @koper/typeorm, Prisma through
// @koper/prisma (a client generated into ./generated), then Kafka through @koper/kafka and the
// embedded broker, as the root README shows them.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "reflect-metadata";
import { DataListener, Koper, Listen, type DataEvent, type MessageMeta } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { startBroker } from "@koper/kafka-broker";
import { koperPrisma } from "@koper/prisma";
import { koperTypeorm } from "@koper/typeorm";
import { PrismaLibSql } from "@prisma/adapter-libsql";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";
import { PrismaClient, type Order as PrismaOrder } from "./generated/client.js";

@Entity("orders")
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar", unique: true }) number!: string;
}

@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`insert ${order.number} (id ${order.id}) by ${event.context.actor}`);
  }
  onInsertOrder_X(order: Order, event: DataEvent<Order>) {
    console.log(`refused ${order.number}: ${event.error?.code}`);
  }
}

const dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true });
const koper = new Koper();
koper.register(new OrderListener());
koperTypeorm(dataSource, koper);
await dataSource.initialize();
await koper.start();
const orders = dataSource.getRepository(Order);
await koper.runWith({ actor: "alice" }, () => orders.save({ number: "A-1" }));
await orders.save({ number: "A-1" }).catch(() => {});
await koper.stop();
await dataSource.destroy();

@DataListener<"Order", PrismaOrder>({ entity: "Order" })
class PrismaOrderListener {
  onInsertOrder(order: PrismaOrder, event: DataEvent<PrismaOrder>) {
    console.log(`prisma insert ${order.number} into ${event.source.table} by ${event.context.actor}`);
  }
  onUpdateOrder(order: PrismaOrder, event: DataEvent<PrismaOrder>) {
    console.log(`prisma update ${order.number}: ${event.changes?.join(", ")} ${event.before?.qty} → ${order.qty}`);
  }
}

const file = join(tmpdir(), `koper-consumer-esm-${process.pid}.db`);
const base = new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${file}` }) });
await base.$executeRawUnsafe("CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE, qty INTEGER NOT NULL)");
const prismaKoper = new Koper();
prismaKoper.register(new PrismaOrderListener());
await prismaKoper.start();
const prisma = base.$extends(koperPrisma(prismaKoper, { captureBefore: true }));
const created = await prismaKoper.runWith({ actor: "pat" }, () => prisma.order.create({ data: { number: "P-1", qty: 1 } }));
await prisma.order.update({ where: { id: created.id }, data: { qty: 2 } });
await prismaKoper.stop();
await base.$disconnect();
rmSync(file);

const broker = await startBroker({ port: 0 });
let arrived!: () => void;
const received = new Promise<void>((resolve) => (arrived = resolve));

@Listen({ topic: "consumer.signup" })
class SignupListener {
  onMessage(msg: string, meta: MessageMeta) {
    console.log(`kafka ${meta.topic}: ${msg}`);
    arrived();
  }
}

const transport = new KafkaTransport({ brokers: broker.brokers, clientId: "esm-app", consumer: { maxWaitTimeInMs: 100 } });
const kafkaKoper = new Koper({ transport });
kafkaKoper.register(new SignupListener());
await kafkaKoper.start();
await kafkaKoper.sender.send("consumer.signup", "Signed up successfully!");
await received;
await kafkaKoper.stop();
await broker.stop();
