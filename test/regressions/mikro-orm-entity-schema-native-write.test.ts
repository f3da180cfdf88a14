// Regression: a bulk write named by its EntitySchema (`em.nativeUpdate(OrderSchema, …)`, the usual
// form in an app with classless schemas) published nothing: the adapter looked the metadata up by
// the schema object's constructor (EntitySchema itself) and found none, so the event was lost.
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { koperMikroOrm } from "@koper/mikro-orm";
import { EntitySchema, MikroORM, NodeSqliteDialect, SqliteDriver } from "@mikro-orm/sql";
import { describe, expect, it } from "vitest";

interface Order {
  id: number;
  number: string;
}

const OrderSchema = new EntitySchema<Order>({
  name: "Order",
  tableName: "orders",
  properties: { id: { type: "integer", primary: true, autoincrement: true }, number: { type: "string" } },
});

describe("regression: MikroORM native writes named by an EntitySchema", () => {
  it("nativeUpdate and nativeDelete with the schema object publish their bulk events", async () => {
    const seen: string[] = [];
    @DataListener<"Order", Order>({ entity: "Order" })
    class OrderListener {
      onBulkUpdateOrder(event: DataEvent<Order>) {
        seen.push(`update ${event.bulk?.affected}`);
      }
      onBulkDeleteOrder(event: DataEvent<Order>) {
        seen.push(`delete ${event.bulk?.affected}`);
      }
    }
    const orm = await MikroORM.init({ driver: SqliteDriver, dbName: ":memory:", driverOptions: new NodeSqliteDialect(":memory:"), entities: [OrderSchema] });
    const koper = new Koper().register(new OrderListener());
    try {
      await orm.schema.create();
      koperMikroOrm(orm, koper);
      await koper.start();
      const em = orm.em.fork();
      em.create(OrderSchema, { number: "R-1" });
      await em.flush();
      await em.nativeUpdate(OrderSchema, { number: "R-1" }, { number: "R-2" });
      await em.nativeDelete(OrderSchema, { number: "R-2" });
      await koper.settle();
      expect(seen).toEqual(["update 1", "delete 1"]);
    } finally {
      await koper.stop();
      await orm.close();
    }
  });
});
