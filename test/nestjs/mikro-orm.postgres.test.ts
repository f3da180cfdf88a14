// @koper/nestjs with MikroORM the Nest way: @mikro-orm/nestjs provides `MikroORM` and the
// `EntityManager`; Koper attaches through the `MikroORM` provider; the listener injects the
// EntityManager and writes with it from its handler. `allowGlobalContext` stays false, so only the
// `MikroOrmRequestContextScope` handler scope (a RequestContext fork per handler call) makes that work.
// Real PostgreSQL, each test in a schema of its own, created and dropped by name.
import { randomUUID } from "node:crypto";
import { Koper, DataListener, type DataEvent } from "@koper/core";
import { koperMikroOrm } from "@koper/mikro-orm";
import { KoperModule, type KoperHandlerScope } from "@koper/nestjs";
import { MikroOrmRequestContextScope } from "@koper/nestjs/mikro-orm";
import { EntityManager, EntitySchema, MikroORM, RequestContext } from "@mikro-orm/core";
import { MikroOrmModule } from "@mikro-orm/nestjs";
import { defineConfig } from "@mikro-orm/postgresql";
import { Body, Controller, Headers, Inject, Injectable, Module, Post, type INestApplication, type Type } from "@nestjs/common";
import { Test } from "@nestjs/testing";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { database, suffix } from "../mikro-orm/databases.ts";
import { SERVERS } from "../support/servers.ts";

const { host, port, user, password, database: dbName } = SERVERS.postgres;
const SERVER = { host, port, user, password, dbName };
const pg = await database("postgres");

/** Fresh classes and schemas per test: MikroORM keeps metadata on the class. */
function entities(id: string) {
  class Order {
    id!: string;
    number!: string;
  }
  /** A note the listener writes about an order: a reference to it, no FK property. */
  class OrderNote {
    id!: string;
    text!: string;
    order!: Order;
  }
  const schemas = [
    new EntitySchema({ class: Order, name: "Order", tableName: `order_${id}`, properties: { id: { type: "uuid", primary: true }, number: { type: "string", length: 60, unique: true } } }),
    new EntitySchema({
      class: OrderNote,
      name: "OrderNote",
      tableName: `note_${id}`,
      properties: { id: { type: "uuid", primary: true }, text: { type: "string", length: 200 }, order: { kind: "m:1", entity: () => Order } },
    }),
  ];
  return { Order, OrderNote, schemas };
}
type Entities = ReturnType<typeof entities>;

/** What the listener did, per handler call. */
class Seen {
  readonly forks: number[] = [];
  readonly notes: DataEvent[] = [];
}

function appModule(schema: string, model: Entities, scopes: Type<KoperHandlerScope>[]) {
  const { Order, OrderNote } = model;

  @Controller("orders")
  class OrdersController {
    constructor(@Inject(EntityManager) private readonly em: EntityManager) {}
    @Post()
    async place(@Body() body: { id: string; number: string }) {
      await this.em.persist(this.em.create(Order, body)).flush(); // inside @mikro-orm/nestjs's per-request context
      return { id: body.id };
    }
  }

  @Injectable()
  @DataListener({ entity: "Order" })
  class OrderNoteWriter {
    constructor(@Inject(EntityManager) private readonly em: EntityManager, @Inject(Seen) private readonly seen: Seen) {}
    async onInsertOrder(order: { id: string; number: string }) {
      const fork = RequestContext.getEntityManager();
      if (fork) this.seen.forks.push(fork.id);
      const saved = await this.em.findOneOrFail(Order, order.id); // the global em: throws outside a context
      await this.em.persist(this.em.create(OrderNote, { id: randomUUID(), text: `placed ${saved.number}`, order: saved })).flush();
    }
  }

  @Injectable()
  @DataListener({ entity: "OrderNote" })
  class NoteWatcher {
    constructor(@Inject(Seen) private readonly seen: Seen) {}
    onInsertOrderNote(_note: unknown, event: DataEvent) {
      this.seen.notes.push(event);
    }
  }

  @Module({
    imports: [
      MikroOrmModule.forRoot(defineConfig({ ...SERVER, schema, entities: model.schemas, allowGlobalContext: false, debug: false })),
      KoperModule.forRootAsync({
        inject: [MikroORM],
        useFactory: (orm: MikroORM) => ({
          koper: { retry: { retries: 1, initialDelayMs: 10 } },
          attach: [(koper: Koper) => koperMikroOrm(orm, koper)],
          handlerScopes: scopes,
          http: { context: (req) => ({ actor: String(req.headers["x-user"]) }) },
          logger: false,
        }),
      }),
    ],
    controllers: [OrdersController],
    providers: [Seen, OrderNoteWriter, NoteWatcher],
  })
  class AppModule {}
  return AppModule;
}

describe.skipIf(pg.skip)("@koper/nestjs with @mikro-orm/nestjs on PostgreSQL", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function boot(scopes: Type<KoperHandlerScope>[]) {
    const id = suffix();
    const schema = `koper_nest_${id}`;
    const model = entities(id);
    const moduleRef = await Test.createTestingModule({ imports: [appModule(schema, model, scopes)] }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    const orm = app.get(MikroORM);
    await orm.em.getConnection().execute(`CREATE SCHEMA "${schema}"`);
    close = async () => {
      await app.close();
      // The ORM is closed with the app: a short-lived one drops the test's own schema, by name.
      const admin = await MikroORM.init(defineConfig({ ...SERVER, entities: model.schemas, allowGlobalContext: true }));
      await admin.em.getConnection().execute(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.close(true);
    };
    await orm.schema.create({ schema });
    await app.init();
    return { app, orm, koper: app.get(Koper), seen: app.get(Seen), model };
  }

  it("a handler writes through the injected EntityManager inside its own RequestContext fork, without allowGlobalContext", async () => {
    const { app, orm, koper, seen, model } = await boot([MikroOrmRequestContextScope]);
    const ids = [randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) {
      const response = await request(app.getHttpServer()).post("/orders").set("x-user", `user-${i}`).send({ id, number: `N-${i}` });
      expect(response.status).toBe(201);
    }
    await koper.settle();
    expect(new Set(seen.forks).size).toBe(2); // a fork per call, never the global em
    expect(seen.forks).not.toContain(orm.em.id);
    const notes = await orm.em.fork().find(model.OrderNote, {}, { populate: ["order"], orderBy: { text: "asc" } });
    expect(notes.map((note) => [note.text, note.order.id])).toEqual([["placed N-0", ids[0]], ["placed N-1", ids[1]]]);
    // The handler's own write is captured too, carrying the actor of the request that caused it.
    expect(seen.notes.map((event) => event.context.actor).sort()).toEqual(["user-0", "user-1"]);
    expect(seen.notes.every((event) => typeof event.context.causationId === "string")).toBe(true);
  });

  it("without the scope the same handler fails on MikroORM's global-context guard and is dead-lettered", async () => {
    const { app, orm, koper, seen, model } = await boot([]);
    const dead: string[] = [];
    koper.on("dead_lettered", (event) => dead.push(event.payload.reason));
    const response = await request(app.getHttpServer()).post("/orders").set("x-user", "alice").send({ id: randomUUID(), number: "N-X" });
    expect(response.status).toBe(201);
    await koper.settle();
    expect(seen.forks).toEqual([]); // no RequestContext around the handler
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatch(/global EntityManager instance methods for context specific actions is disallowed/);
    expect(await orm.em.fork().count(model.OrderNote, {})).toBe(0);
  });
});
