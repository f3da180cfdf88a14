// Koper quick start, Prisma variant: Prisma 7 + SQLite (libSQL, a temporary file) + the in-process
// transport. Run it with `npm run start:prisma` (the client is generated from schema.prisma first).
// The same story as examples/quickstart (TypeORM), with the same listeners.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Koper } from "@koper/core";
import { koperPrisma } from "@koper/prisma";
import { PrismaLibSql } from "@prisma/adapter-libsql";
import { MemberSignupListener, OrderListener } from "../quickstart/listeners.ts";
import { Story } from "../quickstart/story.ts";
import { PrismaClient } from "./generated/client.ts";

const story = new Story();
const file = join(tmpdir(), `koper-quickstart-${process.pid}.db`);
const base = new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${file}` }) });
// What `prisma migrate` would create from schema.prisma (run here so the demo needs no CLI step).
await base.$executeRawUnsafe(`CREATE TABLE "orders" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "number" TEXT NOT NULL, "item" TEXT NOT NULL, "qty" INTEGER NOT NULL)`);
await base.$executeRawUnsafe(`CREATE UNIQUE INDEX "orders_number_key" ON "orders"("number")`);

const koper = new Koper({ service: "quickstart" });
koper.register(new MemberSignupListener(story.say), new OrderListener(story.say));
await koper.start();
// The one line that turns Prisma writes into events; `before` on updates needs captureBefore.
const prisma = base.$extends(koperPrisma(koper, { captureBefore: true }));

await story.step("1. A member signs up: a plain message on topic koper.memberSignup", 1, () =>
  koper.sender.send("koper.memberSignup", "Signed up successfully! 13800000000"),
);

let order!: { id: number };
await story.step("2. Alice places order A-1001 (prisma.order.create)", 1, async () => {
  order = await koper.runWith({ actor: "alice" }, () => prisma.order.create({ data: { number: "A-1001", item: "coffee beans", qty: 1 } }));
});

await story.step("3. She changes the quantity to 3 (prisma.order.update)", 1, () =>
  koper.runWith({ actor: "alice" }, () => prisma.order.update({ where: { id: order.id }, data: { qty: 3 } })),
);

await story.step("4. She cancels it (prisma.order.delete)", 1, () => koper.runWith({ actor: "alice" }, () => prisma.order.delete({ where: { id: order.id } })));

await story.step("5. Bob orders A-1002, then someone creates another A-1002: the database refuses it", 2, async () => {
  await koper.runWith({ actor: "bob" }, () => prisma.order.create({ data: { number: "A-1002", item: "tea", qty: 2 } }));
  try {
    await prisma.order.create({ data: { number: "A-1002", item: "tea", qty: 5 } });
  } catch (error) {
    story.say(`(the application got Prisma's own error, as always: ${(error as Error).name} ${(error as { code?: string }).code})`);
  }
});

const publishedBefore = koper.metrics().published;
const receivedBefore = story.received;
await story.step("6. An order placed inside a transaction that rolls back", 0, async () => {
  await prisma
    .$transaction(async (tx) => {
      await tx.order.create({ data: { number: "A-1003", item: "cups", qty: 6 } });
      throw new Error("payment declined");
    })
    .catch((error: Error) => story.say(`(the transaction rolled back: ${error.message})`));
});

await koper.stop(); // delivers everything already published before it returns
await base.$disconnect();
rmSync(file, { force: true });
const nothing = koper.metrics().published === publishedBefore && story.received === receivedBefore;
story.say(nothing ? "(nothing was published for the rolled-back order: the listeners saw nothing)" : "(UNEXPECTED: the rolled-back order was published)");
story.end(nothing);
