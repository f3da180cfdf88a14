// Koper quick start, MikroORM variant: MikroORM 7 + SQLite (node:sqlite, in memory) + the
// in-process transport. Run it with `npm run start:mikro-orm`. The listeners are the TypeORM
// quick start's: the events are the same whichever ORM made the write.
import { Koper } from "@koper/core";
import { koperMikroOrm } from "@koper/mikro-orm";
import { MikroORM, NodeSqliteDialect, SqliteDriver } from "@mikro-orm/sql";
import { MemberSignupListener, OrderListener } from "../quickstart/listeners.ts";
import { Story } from "../quickstart/story.ts";
import { Order, OrderSchema } from "./entities.ts";

const story = new Story();
const orm = await MikroORM.init({ driver: SqliteDriver, dbName: ":memory:", driverOptions: new NodeSqliteDialect(":memory:"), entities: [OrderSchema] });
await orm.schema.create();

const koper = new Koper({ service: "quickstart" });
koper.register(new MemberSignupListener(story.say), new OrderListener(story.say));
await koper.start();
koperMikroOrm(orm, koper); // the one line that turns MikroORM writes into events

const em = orm.em.fork(); // one unit of work, as a request handler would have

await story.step("1. A member signs up: a plain message on topic koper.memberSignup", 1, () =>
  koper.sender.send("koper.memberSignup", "Signed up successfully! 13800000000"),
);

const order = em.create(Order, { number: "A-1001", item: "coffee beans", qty: 1 });
await story.step("2. Alice places order A-1001 (em.persist + flush)", 1, () => koper.runWith({ actor: "alice" }, () => em.flush()));

await story.step("3. She changes the quantity to 3 (flush again)", 1, async () => {
  order.qty = 3;
  await koper.runWith({ actor: "alice" }, () => em.flush());
});

await story.step("4. She cancels it (em.remove + flush)", 1, () => koper.runWith({ actor: "alice" }, () => em.remove(order).flush()));

await story.step("5. Bob orders A-1002, then someone saves another A-1002: the database refuses it", 2, async () => {
  const bob = orm.em.fork();
  bob.create(Order, { number: "A-1002", item: "tea", qty: 2 });
  await koper.runWith({ actor: "bob" }, () => bob.flush());
  const other = orm.em.fork();
  other.create(Order, { number: "A-1002", item: "tea", qty: 5 });
  try {
    await other.flush();
  } catch (error) {
    story.say(`(the application got MikroORM's own error, as always: ${(error as Error).name})`);
  }
});

const publishedBefore = koper.metrics().published;
const receivedBefore = story.received;
await story.step("6. An order placed inside a transaction that rolls back", 0, async () => {
  await orm.em
    .fork()
    .transactional(async (tx) => {
      tx.create(Order, { number: "A-1003", item: "cups", qty: 6 });
      await tx.flush();
      throw new Error("payment declined");
    })
    .catch((error: Error) => story.say(`(the transaction rolled back: ${error.message})`));
});

await koper.stop(); // delivers everything already published before it returns
await orm.close();
const nothing = koper.metrics().published === publishedBefore && story.received === receivedBefore;
story.say(nothing ? "(nothing was published for the rolled-back order: the listeners saw nothing)" : "(UNEXPECTED: the rolled-back order was published)");
story.end(nothing);
