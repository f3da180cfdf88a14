import { DataListener, Koper, type DataEvent } from "@koper/core";

interface Order {
  id: number;
  number: string;
  qty: number;
}

@DataListener({ entity: "Order" })
class OrderListener {
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`inserted ${order.number} by ${event.context.actor}`);
  }
  onUpdateOrder(order: Order, event: DataEvent<Order>) {
    console.log(`updated ${order.number}: ${event.changes?.join(", ")} (qty ${event.before?.qty} → ${order.qty})`);
  }
  onInsertOrder_X(order: Order, event: DataEvent<Order>) {
    console.log(`insert of ${order.number} failed: ${event.error?.code}`);
  }
}

const koper = new Koper();
koper.register(new OrderListener());
await koper.start();

// What an ORM adapter does for you: one transaction, two writes, published at commit.
const source = { orm: "example", table: "orders" };
const tx = {}; // any object identifying the transaction
await koper.runWith({ actor: "alice" }, async () => {
  koper.capture.begin(tx);
  await koper.capture.record(tx, { entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1, number: "A-1", qty: 1 }, source });
  await koper.capture.record(tx, {
    entity: "Order",
    action: "update",
    key: { id: 1 },
    data: { id: 1, number: "A-1", qty: 3 },
    before: { id: 1, number: "A-1", qty: 1 },
    changes: ["qty"],
    source,
  });
  await koper.capture.commit(tx);
});

// A rolled-back transaction publishes nothing.
const rolledBack = {};
koper.capture.begin(rolledBack);
await koper.capture.record(rolledBack, { entity: "Order", action: "insert", key: { id: 2 }, data: { id: 2, number: "A-2", qty: 1 }, source });
koper.capture.rollback(rolledBack);

// A write the database refused becomes a failure event, routed to the _X handler.
const duplicate = Object.assign(new Error('duplicate key value violates unique constraint "orders_number_key"'), { code: "23505" });
await koper.capture.fail(undefined, { entity: "Order", action: "insert", key: null, data: { number: "A-1", qty: 5 }, source }, duplicate, { code: "23505" });

await koper.stop();
