import { Koper, ensureAuditTable } from "@koper/core";
import { koperTypeorm, sqlClientOf } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryColumn } from "typeorm";

@Entity("customers")
class Customer {
  @PrimaryColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar" }) email!: string;
  @Column({ type: "varchar" }) tier!: string;
}

const dataSource = new DataSource({ type: "sqljs", entities: [Customer], synchronize: true });
const koper = new Koper();
koperTypeorm(dataSource, koper, { audit: true }); // audit rows commit with the data
await dataSource.initialize();
await ensureAuditTable(sqlClientOf(dataSource)); // or apply the migration in @koper/core/src/audit/migrations
await koper.start();

const customers = dataSource.getRepository(Customer);
await koper.runWith({ actor: "alice" }, () => customers.save({ id: 7, email: "ann@example.com", tier: "basic" }));
await koper.runWith({ actor: "bob" }, () => customers.save({ id: 7, email: "ann.lee@example.com", tier: "basic" }));
await koper.runWith({ actor: "alice" }, () => customers.save({ id: 7, email: "ann.lee@example.com", tier: "gold" }));

for (const version of await koper.audit.history("Customer", 7)) {
  const diff = version.diff.map((c) => `${c.field}: ${c.from ?? "∅"} → ${c.to}`).join(", ");
  console.log(`${version.action} by ${version.actor}: ${diff}`);
}
const [, second] = await koper.audit.history("Customer", 7);
console.log("after bob:", await koper.audit.stateAt("Customer", 7, { version: second!.eventId }));
const page = await koper.audit.changes({ actor: "alice", limit: 10 });
console.log(`alice made ${page.entries.length} change(s)`);
await koper.audit.forget("Customer", 7, ["email"]);
console.log("after forget:", (await koper.audit.history("Customer", 7))[0]!.after);

await koper.stop();
await dataSource.destroy();
