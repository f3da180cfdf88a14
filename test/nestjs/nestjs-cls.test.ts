// @koper/nestjs with nestjs-cls: the request context lives in nestjs-cls (its middleware sets the
// actor and the request id), Koper's `context()` supplier reads it at capture time, and a handler
// scope runs each handler in `cls.run()` seeded from its event, so services that read the CLS in a
// handler see the user whose request caused the event. TypeORM on sql.js.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { KoperModule, type KoperHandlerCall, type KoperHandlerScope } from "@koper/nestjs";
import { koperTypeorm } from "@koper/typeorm";
import { Body, Controller, Inject, Injectable, Module, Post, type INestApplication, type Type } from "@nestjs/common";
import { Test } from "@nestjs/testing";
import { TypeOrmModule, getDataSourceToken } from "@nestjs/typeorm";
import { CLS_ID, ClsModule, ClsService } from "nestjs-cls";
import request from "supertest";
import { Column, DataSource, Entity, PrimaryColumn, PrimaryGeneratedColumn } from "typeorm";
import { afterEach, describe, expect, it } from "vitest";

@Entity({ name: "cls_orders" })
class Order {
  @PrimaryColumn({ type: "varchar", length: 36 }) id!: string; // app-set uuid
  @Column({ type: "varchar", length: 40 }) number!: string;
}

@Entity({ name: "cls_audit" })
class AuditEntry {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar", length: 120 }) text!: string;
}

/** Runs every handler call in a fresh CLS context holding its event's actor and request id. */
@Injectable()
class ClsHandlerScope implements KoperHandlerScope {
  constructor(@Inject(ClsService) private readonly cls: ClsService) {}
  run(call: KoperHandlerCall, next: () => Promise<unknown>): Promise<unknown> {
    const event = call.args[1] as DataEvent | undefined;
    return this.cls.run(() => {
      this.cls.set("actor", event?.context.actor);
      this.cls.set(CLS_ID, event?.context.requestId);
      return next();
    });
  }
}

/** An application service that knows the current user only through nestjs-cls. */
@Injectable()
class AuditService {
  constructor(@Inject(ClsService) private readonly cls: ClsService, @Inject(getDataSourceToken()) private readonly dataSource: DataSource) {}
  async write(what: string): Promise<string> {
    const text = this.cls.isActive() ? `${what} by ${this.cls.get("actor")} in ${this.cls.getId()}` : `${what} outside any CLS context`;
    await this.dataSource.getRepository(AuditEntry).save({ text });
    return text;
  }
}

@Injectable()
class Seen {
  readonly audits: DataEvent<AuditEntry>[] = [];
}

@Injectable()
@DataListener({ entity: Order })
class OrderListener {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}
  async onInsertOrder(order: Order) {
    await this.audit.write(`order ${order.number}`);
  }
}

@Injectable()
@DataListener({ entity: AuditEntry })
class AuditListener {
  constructor(@Inject(Seen) private readonly seen: Seen) {}
  onInsertAuditEntry(_entry: AuditEntry, event: DataEvent<AuditEntry>) {
    this.seen.audits.push(event);
  }
}

@Controller("orders")
class OrdersController {
  constructor(@Inject(getDataSourceToken()) private readonly dataSource: DataSource) {}
  @Post()
  async place(@Body() body: { id: string; number: string }) {
    await this.dataSource.getRepository(Order).save(body);
    return { id: body.id };
  }
}

function appModule(scopes: Type<KoperHandlerScope>[]) {
  @Module({
    imports: [
      ClsModule.forRoot({
        global: true,
        middleware: {
          mount: true,
          generateId: true,
          idGenerator: (req: { headers: Record<string, string | undefined> }) => req.headers["x-request-id"] ?? randomUUID(),
          setup: (cls, req: { headers: Record<string, string | undefined> }) => cls.set("actor", req.headers["x-user"]),
        },
      }),
      TypeOrmModule.forRoot({ type: "sqljs", entities: [Order, AuditEntry], synchronize: true }),
      KoperModule.forRootAsync({
        inject: [ClsService, getDataSourceToken()],
        useFactory: (cls: ClsService, dataSource: DataSource) => ({
          attach: [(koper: Koper) => koperTypeorm(dataSource, koper)],
          // The context comes from nestjs-cls alone: Koper's own middleware is off.
          http: false as const,
          context: () => (cls.isActive() ? { actor: cls.get<string>("actor"), requestId: cls.getId() } : undefined),
          handlerScopes: scopes,
          logger: false,
        }),
      }),
    ],
    controllers: [OrdersController],
    providers: [AuditService, Seen, OrderListener, AuditListener, ClsHandlerScope],
  })
  class AppModule {}
  return AppModule;
}

describe("@koper/nestjs with nestjs-cls", () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(scopes: Type<KoperHandlerScope>[]) {
    const moduleRef = await Test.createTestingModule({ imports: [appModule(scopes)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return { server: app.getHttpServer(), koper: app.get(Koper), seen: app.get(Seen) };
  }

  it("events carry the CLS actor and request id; handlers run in cls.run and their own writes carry the same user", async () => {
    const { server, koper, seen } = await boot([ClsHandlerScope]);
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const placed = await Promise.all(
      users.map((user, i) => request(server).post("/orders").set("x-user", user).set("x-request-id", `req-${i}`).send({ id: randomUUID(), number: `N-${i}` })),
    );
    expect(placed.map((r) => r.status)).toEqual(users.map(() => 201));
    await koper.settle();
    const texts = seen.audits.map((event) => event.data!.text).sort();
    expect(texts).toEqual(users.map((user, i) => `order N-${i} by ${user} in req-${i}`).sort());
    // The handler's own write: its context comes from the supplier reading the scope's CLS.
    for (const event of seen.audits) {
      const [, number] = /order N-(\d+)/.exec(event.data!.text)!;
      expect(event.context).toMatchObject({ actor: `user-${number}`, requestId: `req-${number}` });
      expect(typeof event.context.causationId).toBe("string");
    }
  });

  it("without the scope a handler runs outside any CLS context", async () => {
    const { server, koper, seen } = await boot([]);
    const placed = await request(server).post("/orders").set("x-user", "alice").send({ id: randomUUID(), number: "N-1" });
    expect(placed.status).toBe(201);
    await koper.settle();
    expect(seen.audits.map((event) => event.data!.text)).toEqual(["order N-1 outside any CLS context"]);
  });
});
