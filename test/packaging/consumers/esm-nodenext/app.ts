// An ESM application (moduleResolution nodenext): TypeORM through @koper/typeorm, then Kafka through
// @koper/kafka and the embedded broker, as the root README shows them.
import "reflect-metadata";
import { DataListener, Koper, Listen, type DataEvent, type MessageMeta } from "@koper/core";
import { KafkaTransport } from "@koper/kafka";
import { startBroker } from "@koper/kafka-broker";
import { koperTypeorm } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";

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
