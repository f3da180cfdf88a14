import { Koper, DataListener, type DataEvent } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("orders")
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar", unique: true }) number!: string;
  @Column({ type: "integer" }) qty!: number;
}

@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  onInsertOrder(order: Order) {
    console.log(`insert ${order.number} (id ${order.id})`);
  }
  onUpdateOrder(order: Order, event: DataEvent<Order>) {
    console.log(`update ${order.number}: ${event.changes?.join(", ")} ${event.before?.qty} → ${order.qty}`);
  }
  onDeleteOrder(order: Order) {
    console.log(`delete ${order.number}`);
  }
  onInsertOrder_X(order: Order, event: DataEvent<Order>) {
    console.log(`refused ${order.number}: ${event.error?.code}`);
  }
}

const dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true });
const koper = new Koper();
koper.register(new OrderListener());
koperTypeorm(dataSource, koper); // the one line
await dataSource.initialize();
await koper.start();

const orders = dataSource.getRepository(Order);
const order = await orders.save({ number: "A-1001", qty: 1 });
await orders.save({ ...order, qty: 3 });
await orders.save({ number: "A-1001", qty: 9 }).catch(() => {}); // duplicate number: TypeORM throws as usual
await orders.remove(order);

await koper.stop();
await dataSource.destroy();
