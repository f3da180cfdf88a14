// Standard (TC39) decorators: experimentalDecorators off, as in a project without TypeORM or NestJS.
// The app validates with zod 3 (installed as "zod3"), next to core's own zod 4: `schema` is any Standard Schema.
import { DataListener, Koper, Listen, type DataEvent } from "@koper/core";
import { z } from "zod3";

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

@Listen({ topic: "consumer.tc39.phone", schema: z.object({ phone: z.string().regex(/^\d{11}$/) }) })
class PhoneListener {
  onMessage(payload: { phone: string }) {
    console.log(`phone: ${payload.phone}`);
  }
}

@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`insert ${order.number} (${event.outcome})`);
  }
}

const koper = new Koper();
koper.register(new Greeter(), new PhoneListener(), new OrderListener());
await koper.start();
await koper.sender.send("consumer.tc39", "hi");
await koper.sender.send("consumer.tc39.phone", { phone: "13800000000" });
const tx = {};
koper.capture.begin(tx);
await koper.capture.record(tx, { entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1, number: "T-1" }, source: { orm: "none", table: "orders" } });
await koper.capture.commit(tx);
await koper.stop();
