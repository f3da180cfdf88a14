// Koper quick start: TypeORM + SQLite (sql.js, in memory) + the in-process transport.
// Run it with `npm start`. Every write below becomes an event that a listener class receives.
import "reflect-metadata";
import { Koper } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import { DataSource } from "typeorm";
import { Order } from "./entities.ts";
import { MemberSignupListener, OrderListener } from "./listeners.ts";
import { Story } from "./story.ts";

const story = new Story();
const dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true, logging: false });
await dataSource.initialize();

const koper = new Koper({ service: "quickstart" });
koper.register(new MemberSignupListener(story.say), new OrderListener(story.say));
await koper.start();
koperTypeorm(dataSource, koper); // the one line that turns TypeORM writes into events

const orders = dataSource.getRepository(Order);

await story.step("1. A member signs up: a plain message on topic koper.memberSignup", 1, () =>
  koper.sender.send("koper.memberSignup", "Signed up successfully! 13800000000"),
);

const order = orders.create({ number: "A-1001", item: "coffee beans", qty: 1 });
await story.step("2. Alice places order A-1001 (orders.save)", 1, () =>
  koper.runWith({ actor: "alice" }, () => orders.save(order)),
);

await story.step("3. She changes the quantity to 3 (orders.save again)", 1, async () => {
  order.qty = 3;
  await koper.runWith({ actor: "alice" }, () => orders.save(order));
});

await story.step("4. She cancels it (orders.remove)", 1, () => koper.runWith({ actor: "alice" }, () => orders.remove(order)));

await story.step("5. Bob orders A-1002, then someone saves another A-1002: the database refuses it", 2, async () => {
  await koper.runWith({ actor: "bob" }, () => orders.save(orders.create({ number: "A-1002", item: "tea", qty: 2 })));
  try {
    await orders.save(orders.create({ number: "A-1002", item: "tea", qty: 5 }));
  } catch (error) {
    story.say(`(the application got TypeORM's own error, as always: ${(error as Error).name})`);
  }
});

const publishedBefore = koper.metrics().published;
const receivedBefore = story.received;
await story.step("6. An order placed inside a transaction that rolls back", 0, async () => {
  await dataSource
    .transaction(async (manager) => {
      await manager.save(manager.create(Order, { number: "A-1003", item: "cups", qty: 6 }));
      throw new Error("payment declined");
    })
    .catch((error: Error) => story.say(`(the transaction rolled back: ${error.message})`));
});

await koper.stop(); // delivers everything already published before it returns
await dataSource.destroy();
const nothing = koper.metrics().published === publishedBefore && story.received === receivedBefore;
story.say(nothing ? "(nothing was published for the rolled-back order: the listeners saw nothing)" : "(UNEXPECTED: the rolled-back order was published)");
story.end(nothing);
