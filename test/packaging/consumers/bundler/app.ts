// A bundled application (moduleResolution bundler; esbuild bundles @koper/* through their `import` condition).
import "reflect-metadata";
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("orders")
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar" }) number!: string;
}

@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`insert ${order.number} into ${event.source.table}`);
  }
}

const dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true });
const koper = new Koper();
koper.register(new OrderListener());
koperTypeorm(dataSource, koper);
await dataSource.initialize();
await koper.start();
await dataSource.getRepository(Order).save({ number: "B-1" });
await koper.stop();
await dataSource.destroy();
