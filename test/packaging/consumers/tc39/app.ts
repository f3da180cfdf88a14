// Standard (TC39) decorators: experimentalDecorators off, as in a project without TypeORM or NestJS.
import { DataListener, Koper, Listen, type DataEvent } from "@koper/core";

interface Order {
  id: number;
  number: string;
}

@Listen({ topic: "consumer.tc39" })
class Greeter {
  onMessage(msg: string) {
    console.log(`message: ${msg}`);
  }
}

@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`insert ${order.number} (${event.outcome})`);
  }
}

const koper = new Koper();
koper.register(new Greeter(), new OrderListener());
await koper.start();
await koper.sender.send("consumer.tc39", "hi");
const tx = {};
koper.capture.begin(tx);
await koper.capture.record(tx, { entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1, number: "T-1" }, source: { orm: "none", table: "orders" } });
await koper.capture.commit(tx);
await koper.stop();
