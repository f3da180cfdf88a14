// A CommonJS application on the old resolution (moduleResolution node10: `main` and `types`, no exports map).
import "reflect-metadata";
import { dataListener, Koper, Listen, type KoperOptions } from "@koper/core";
import { KafkaTransport, type KafkaTransportOptions } from "@koper/kafka";
import type { BrokerOptions } from "@koper/kafka-broker";
import { koperTypeorm } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("orders")
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar" }) number!: string;
}

@Listen({ topic: "consumer.node10" })
class Greeter {
  onMessage(msg: string) {
    console.log(`message: ${msg}`);
  }
}

async function main() {
  const brokerOptions: BrokerOptions = { port: 0 };
  const kafkaOptions: KafkaTransportOptions = { brokers: ["127.0.0.1:9"], clientId: "node10-app" };
  const options: KoperOptions = { clientId: "node10", logger: console };
  void [brokerOptions, new KafkaTransport(kafkaOptions)];
  const koper = new Koper(options);
  const orders = dataListener<Order>()({ entity: "Order", onInsertOrder: (order) => console.log(`insert ${order.number}`) });
  koper.register(new Greeter(), orders);
  const dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true });
  koperTypeorm(dataSource, koper);
  await dataSource.initialize();
  await koper.start();
  await koper.sender.send("consumer.node10", "hi");
  await dataSource.getRepository(Order).save({ number: "N-1" });
  await koper.stop();
  await dataSource.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
