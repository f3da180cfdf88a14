import { Koper, ensureOutboxTable } from "@koper/core";
import { koperTypeorm, sqlClientOf } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryColumn } from "typeorm";

@Entity("orders")
class Order {
  @PrimaryColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar" }) status!: string;
}

const dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true });
const koper = new Koper();
koperTypeorm(dataSource, koper, { outbox: { relay: false } });
await dataSource.initialize();
const sql = sqlClientOf(dataSource);
await ensureOutboxTable(sql);
const orders = dataSource.getRepository(Order);
await orders.insert([{ id: 1, status: "open" }, { id: 2, status: "open" }]); // one autocommit statement

// An update by criteria is one statement too; Koper runs it and its outbox row in one transaction.
await orders.update({ status: "open" }, { status: "late" });
console.log("outbox rows:", (await sql.query("SELECT entity FROM koper_outbox")).length);

// When the outbox row cannot be written, the update is rolled back and the call rejects.
await sql.query("CREATE TRIGGER refuse BEFORE INSERT ON koper_outbox BEGIN SELECT RAISE(ABORT, 'outbox refused'); END");
await orders.update({ status: "late" }, { status: "done" }).catch((error: Error) => console.log("update failed:", error.message));
console.log("statuses:", (await orders.find({ order: { id: "ASC" } })).map((order) => order.status).join(", "));

await dataSource.destroy();
