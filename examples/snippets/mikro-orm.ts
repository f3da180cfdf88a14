import { Koper, DataListener, type DataEvent } from "@koper/core";
import { koperMikroOrm } from "@koper/mikro-orm";
import { EntitySchema, MikroORM, NodeSqliteDialect, SqliteDriver } from "@mikro-orm/sql";

class Order {
  id!: number;
  number!: string;
  qty!: number;
}

const OrderSchema = new EntitySchema({
  class: Order,
  properties: {
    id: { type: "integer", primary: true, autoincrement: true },
    number: { type: "string", unique: true },
    qty: { type: "integer" },
  },
});

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
  onBulkUpdateOrder(event: DataEvent<Order>) {
    console.log(`bulk update of ${event.bulk?.affected} row(s) where ${JSON.stringify(event.bulk?.criteria)}`);
  }
}

const orm = await MikroORM.init({ driver: SqliteDriver, dbName: ":memory:", driverOptions: new NodeSqliteDialect(":memory:"), entities: [OrderSchema] });
await orm.schema.create();
const koper = new Koper();
koper.register(new OrderListener());
koperMikroOrm(orm, koper); // the one line
await koper.start();

const em = orm.em.fork();
const order = em.create(Order, { number: "A-1001", qty: 1 });
await em.flush();
order.qty = 3;
await em.flush();
const other = orm.em.fork();
other.create(Order, { number: "A-1001", qty: 9 });
await other.flush().catch(() => {}); // duplicate number: MikroORM throws as usual
await em.nativeUpdate(Order, { qty: { $gte: 3 } }, { qty: 4 }); // no hook fires: a bulk event
await em.remove(order).flush();

await koper.stop();
await orm.close();
