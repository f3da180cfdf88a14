// A CommonJS application (module node16) on MikroORM 7: `require("@koper/mikro-orm")` loads its
// CommonJS build, which requires the ESM-only @mikro-orm/core through Node's require(esm) (Node >=
// 22.17). The app loads MikroORM itself with import(), which TypeScript before 5.8 requires of a
// CommonJS file; both see one copy of @mikro-orm/core.
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { koperMikroOrm, MikroOrmAdapterError } from "@koper/mikro-orm";

interface Order {
  id: number;
  number: string;
}

@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  onInsertOrder(order: Order, event: DataEvent<Order>) {
    console.log(`cjs: insert ${order.number} into ${event.source.table} by ${event.context.actor}`);
  }
  onBulkUpdateOrder(event: DataEvent<Order>) {
    console.log(`cjs: bulk update of ${event.bulk?.affected} row(s)`);
  }
}

async function main() {
  const { EntitySchema, MikroORM, NodeSqliteDialect, SqliteDriver } = await import("@mikro-orm/sql");
  const OrderSchema = new EntitySchema<Order>({
    name: "Order",
    tableName: "orders",
    properties: { id: { type: "integer", primary: true, autoincrement: true }, number: { type: "string" } },
  });
  const orm = await MikroORM.init({ driver: SqliteDriver, dbName: ":memory:", driverOptions: new NodeSqliteDialect(":memory:"), entities: [OrderSchema] });
  await orm.schema.create();
  const koper = new Koper();
  koper.register(new OrderListener());
  koperMikroOrm(orm, koper);
  await koper.start();
  const em = orm.em.fork();
  em.create(OrderSchema, { number: "C-1" });
  await koper.runWith({ actor: "carol" }, () => em.flush());
  await em.nativeUpdate(OrderSchema, { number: "C-1" }, { number: "C-2" });
  try {
    koperMikroOrm(orm, koper);
  } catch (error) {
    console.log(`attached twice: ${error instanceof MikroOrmAdapterError} ${(error as { code?: string }).code}`);
  }
  await koper.stop();
  await orm.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
