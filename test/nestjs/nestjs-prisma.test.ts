// @koper/nestjs with Prisma: the client is extended where it is provided
// (`new PrismaClient(o).$extends(koperPrisma(koper))`, injecting the module's Koper), from a
// @Global() module so that Nest disconnects it after Koper drained. Prisma 7 on SQLite (libSQL).
import "reflect-metadata";
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { KoperModule } from "@koper/nestjs";
import { koperPrisma } from "@koper/prisma";
import { PrismaLibSql } from "@prisma/adapter-libsql";
import { Body, Controller, Inject, Injectable, Module, Post, type DynamicModule, type INestApplication, type OnApplicationShutdown } from "@nestjs/common";
import { Test } from "@nestjs/testing";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { prismaDatabase, type Opened } from "../prisma/databases.ts";
import { PrismaClient } from "../prisma/sqlite/generated/client.ts";

/** The extended client's type, and its DI token. */
function extendedClient(file: string, koper: Koper) {
  return new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${file}` }) }).$extends(koperPrisma(koper));
}
type Prisma = ReturnType<typeof extendedClient>;
const PRISMA = Symbol("PRISMA");
const DB_FILE = Symbol("DB_FILE");

@Injectable()
class Seen {
  readonly orders: DataEvent[] = [];
  readonly tags: DataEvent[] = [];
  readonly timeline: string[] = [];
  gate: Promise<void> = Promise.resolve();
}

/** Disconnects the client at shutdown, as a PrismaService does. */
@Injectable()
class PrismaLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PRISMA) private readonly prisma: Prisma, @Inject(Seen) private readonly seen: Seen) {}
  async onApplicationShutdown() {
    this.seen.timeline.push("prisma disconnects");
    await this.prisma.$disconnect();
  }
}

/** Provides the extended client app-wide; global, so Nest closes it after the (non-global) Koper module. */
@Module({})
class PrismaModule {
  static forRoot(file: string): DynamicModule {
    return {
      module: PrismaModule,
      global: true,
      providers: [
        Seen,
        PrismaLifecycle,
        { provide: DB_FILE, useValue: file },
        { provide: PRISMA, inject: [Koper, DB_FILE], useFactory: (koper: Koper, dbFile: string) => extendedClient(dbFile, koper) },
      ],
      exports: [PRISMA, Seen],
    };
  }
}

@Controller("orders")
class OrdersController {
  constructor(@Inject(PRISMA) private readonly prisma: Prisma) {}
  @Post()
  async place(@Body() body: { number: string; fail?: boolean }) {
    try {
      await this.prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { number: body.number, qty: 1 } });
        if (body.fail) throw new Error("payment declined");
      });
      return { placed: body.number };
    } catch {
      return { declined: body.number };
    }
  }
}

@Injectable()
@DataListener({ entity: "Order" })
class OrderListener {
  constructor(@Inject(PRISMA) private readonly prisma: Prisma, @Inject(Seen) private readonly seen: Seen) {}
  async onInsertOrder(order: { number: string }, event: DataEvent) {
    this.seen.orders.push(event);
    await this.seen.gate;
    await this.prisma.tag.create({ data: { name: `seen ${order.number}` } }); // the handler's own write
    this.seen.timeline.push(`tag for ${order.number} written`);
  }
}

@Injectable()
@DataListener({ entity: "Tag" })
class TagListener {
  constructor(@Inject(Seen) private readonly seen: Seen) {}
  onInsertTag(_tag: unknown, event: DataEvent) {
    this.seen.tags.push(event);
  }
}

function appModule(file: string) {
  @Module({
    imports: [
      // Imported first on purpose: Koper still stops before the global PrismaModule disconnects.
      KoperModule.forRoot({ http: { context: (req) => ({ actor: String(req.headers["x-user"]) }) }, logger: false }),
      PrismaModule.forRoot(file),
    ],
    controllers: [OrdersController],
    providers: [OrderListener, TagListener],
  })
  class AppModule {}
  return AppModule;
}

const sqlite = await prismaDatabase("sqlite");

describe("@koper/nestjs with a Prisma provider ($extends(koperPrisma(koper)))", () => {
  let opened: Opened | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    await opened?.drop();
    app = opened = undefined;
  });

  async function boot() {
    opened = await sqlite.open(); // the tables, in a SQLite file of this test's own
    const moduleRef = await Test.createTestingModule({ imports: [appModule(opened.name)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return { server: app.getHttpServer(), koper: app.get(Koper), seen: app.get(Seen) };
  }

  it("a committed order reaches the listener with the request's actor; a rolled-back one does not; the handler's write is captured", async () => {
    const { server, koper, seen } = await boot();
    expect((await request(server).post("/orders").set("x-user", "alice").send({ number: "P-1" })).body).toEqual({ placed: "P-1" });
    expect((await request(server).post("/orders").set("x-user", "bob").send({ number: "P-2", fail: true })).body).toEqual({ declined: "P-2" });
    await koper.settle();
    expect(seen.orders.map((e) => [(e.data as { number: string }).number, e.context.actor])).toEqual([["P-1", "alice"]]);
    expect(seen.tags.map((e) => [(e.data as { name: string }).name, e.context.actor])).toEqual([["seen P-1", "alice"]]);
    expect(seen.tags[0]!.context.causationId).toBe(seen.orders[0]!.id);
  });

  it("shutdown drains a handler still running before the Prisma client disconnects", async () => {
    const { server, seen } = await boot();
    let release!: () => void;
    seen.gate = new Promise((resolve) => (release = resolve));
    await request(server).post("/orders").set("x-user", "carol").send({ number: "P-3" });
    while (seen.orders.length === 0) await new Promise((resolve) => setImmediate(resolve)); // the handler is waiting at the gate
    const closing = app!.close();
    app = undefined;
    release();
    await closing;
    expect(seen.timeline).toEqual(["tag for P-3 written", "prisma disconnects"]);
    const check = new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${opened!.name}` }) });
    try {
      expect((await check.tag.findMany()).map((tag) => tag.name)).toEqual(["seen P-3"]);
    } finally {
      await check.$disconnect();
    }
  });
});
