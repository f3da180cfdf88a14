// An ESM application (moduleResolution nodenext) on MikroORM 7 (ESM only; Node >= 22.17), SQLite
// through node:sqlite: the one-line attach and the subscriber form, each on its own ORM.
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { koperMikroOrm, koperMikroOrmSubscriber } from "@koper/mikro-orm";
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
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`insert ${order.number} (id ${order.id}) by ${event.context.actor}`);
  }
  onUpdateOrder(order: Order, event: DataEvent<Order>) {
    console.log(`update ${order.number}: ${event.changes?.join(", ")} ${event.before?.qty} → ${order.qty}`);
  }
  onInsertOrder_X(order: Order, event: DataEvent<Order>) {
    console.log(`refused ${order.number}: ${event.error?.code}`);
  }
}

const init = (subscribers: ReturnType<typeof koperMikroOrmSubscriber>[] = []) =>
  MikroORM.init({ driver: SqliteDriver, dbName: ":memory:", driverOptions: new NodeSqliteDialect(":memory:"), entities: [OrderSchema], subscribers });

const koper = new Koper();
koper.register(new OrderListener());
await koper.start();

const orm = await init();
await orm.schema.create();
const handle = koperMikroOrm(orm, koper);
const em = orm.em.fork();
const order = em.create(Order, { number: "M-1", qty: 1 });
await koper.runWith({ actor: "alice" }, () => em.flush());
order.qty = 2;
await em.flush();
const other = orm.em.fork();
other.create(Order, { number: "M-1", qty: 9 });
await other.flush().catch(() => {});
handle.detach();
await orm.close();

const subscribed = await init([koperMikroOrmSubscriber(koper)]);
await subscribed.schema.create();
const fork = subscribed.em.fork();
fork.create(Order, { number: "S-1", qty: 1 });
await koper.runWith({ actor: "bob" }, () => fork.flush());
await subscribed.close();
await koper.stop();
