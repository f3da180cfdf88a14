// @koper/nestjs with @nestjs-cls/transactional and its Prisma adapter, on PostgreSQL: the client the
// adapter is pointed at (`prismaInjectionToken`) is `new PrismaClient(o).$extends(koperPrisma(koper))`,
// so the transaction clients `txHost.tx` hands out carry the extension. A @Transactional() method's
// writes reach the listeners only after COMMIT, as one Koper transaction; a throw rolls them back;
// Propagation.Nested is a savepoint (its rollback drops only its own writes), RequiresNew a transaction of its own.
import "reflect-metadata";
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { KoperModule } from "@koper/nestjs";
import { koperPrisma } from "@koper/prisma";
import { ClsPluginTransactional, Propagation, Transactional, TransactionHost, type TransactionalAdapter } from "@nestjs-cls/transactional";
import { TransactionalAdapterPrisma } from "@nestjs-cls/transactional-adapter-prisma";
import { Inject, Injectable, Module, type DynamicModule, type INestApplication, type OnApplicationShutdown } from "@nestjs/common";
import { Test } from "@nestjs/testing";
import { PrismaPg } from "@prisma/adapter-pg";
import { ClsModule } from "nestjs-cls";
import { afterEach, describe, expect, it } from "vitest";
import { prismaDatabase, type Opened } from "../prisma/databases.ts";
import { PrismaClient } from "../prisma/postgres/generated/client.ts";
import { SERVERS } from "../support/servers.ts";

/** The client as the application provides it: extended with Koper where it is created. */
function extendedClient(schema: string, koper: Koper) {
  const { host, port, user, database } = SERVERS.postgres;
  const adapter = new PrismaPg({ host, port, user, database }, { schema });
  return new PrismaClient({ adapter }).$extends(koperPrisma(koper));
}
type Prisma = ReturnType<typeof extendedClient>;
/** A transaction's client: the adapter's own type helper picks the array overload of an extended client's `$transaction`. */
type PrismaTx = Omit<Prisma, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;
type TxHost = TransactionHost<TransactionalAdapter<Prisma, PrismaTx, unknown>>;
const PRISMA = Symbol("PRISMA");
const SCHEMA = Symbol("SCHEMA");

@Injectable()
class Seen {
  readonly events: DataEvent[] = [];
  /** Whether each order the listener got was visible outside its transaction (committed) when handled. */
  readonly committedWhenHandled: boolean[] = [];
}

@Injectable()
class PrismaLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PRISMA) private readonly prisma: Prisma) {}
  onApplicationShutdown() {
    return this.prisma.$disconnect();
  }
}

/** Global: Nest disconnects it after the (non-global) Koper module has stopped. */
@Module({})
class PrismaModule {
  static forRoot(schema: string): DynamicModule {
    return {
      module: PrismaModule,
      global: true,
      providers: [
        PrismaLifecycle,
        { provide: SCHEMA, useValue: schema },
        { provide: PRISMA, inject: [Koper, SCHEMA], useFactory: (koper: Koper, name: string) => extendedClient(name, koper) },
      ],
      exports: [PRISMA],
    };
  }
}

@Injectable()
class TagService {
  constructor(@Inject(TransactionHost) private readonly txHost: TxHost) {}

  @Transactional(Propagation.Nested)
  async tagThenFail(name: string): Promise<never> {
    await this.txHost.tx.tag.create({ data: { name } });
    throw new Error(`tag ${name} refused`);
  }

  @Transactional(Propagation.Nested)
  async tag(name: string): Promise<void> {
    await this.txHost.tx.tag.create({ data: { name } });
  }

  @Transactional(Propagation.RequiresNew)
  async tagAlone(name: string): Promise<void> {
    await this.txHost.tx.tag.create({ data: { name } });
  }
}

@Injectable()
class OrderService {
  constructor(
    @Inject(TransactionHost) private readonly txHost: TxHost,
    @Inject(TagService) private readonly tags: TagService,
    @Inject(Koper) private readonly koper: Koper,
    @Inject(Seen) private readonly seen: Seen,
  ) {}

  /** Writes an order, its line and an update; returns what the listeners had seen before COMMIT. */
  @Transactional()
  async place(number: string, fail = false): Promise<number> {
    const order = await this.txHost.tx.order.create({ data: { number, qty: 1 } });
    await this.txHost.tx.orderLine.create({ data: { orderId: order.id, sku: `${number}-sku`, qty: 2 } });
    await this.txHost.tx.order.update({ where: { id: order.id }, data: { qty: 3 } });
    await this.koper.settle(); // everything published so far is handled: nothing of this transaction yet
    if (fail) throw new Error("payment declined");
    return this.seen.events.length;
  }

  /** An order with a nested tag that fails (its savepoint rolls back), one that commits, one in its own transaction. */
  @Transactional()
  async placeWithTags(number: string): Promise<void> {
    await this.txHost.tx.order.create({ data: { number, qty: 1 } });
    await this.tags.tagThenFail(`${number}-refused`).catch(() => {}); // the caller carries on
    await this.tags.tag(`${number}-kept`);
    await this.tags.tagAlone(`${number}-alone`);
    await this.txHost.tx.order.update({ where: { number }, data: { note: "tagged" } });
  }
}

@Injectable()
@DataListener({ entity: ["Order", "OrderLine", "Tag"] })
class Recorder {
  constructor(@Inject(Seen) private readonly seen: Seen, @Inject(PRISMA) private readonly prisma: Prisma) {}
  async onInsertOrder(order: { number: string }, event: DataEvent) {
    this.seen.events.push(event);
    this.seen.committedWhenHandled.push((await this.prisma.order.findUnique({ where: { number: order.number } })) !== null);
  }
  onUpdateOrder(_order: unknown, event: DataEvent) {
    this.seen.events.push(event);
  }
  onInsertOrderLine(_line: unknown, event: DataEvent) {
    this.seen.events.push(event);
  }
  onInsertTag(_tag: unknown, event: DataEvent) {
    this.seen.events.push(event);
  }
}

function appModule(schema: string) {
  @Module({
    imports: [
      KoperModule.forRoot({ logger: false }),
      PrismaModule.forRoot(schema),
      ClsModule.forRoot({
        global: true,
        middleware: { mount: true },
        plugins: [
          new ClsPluginTransactional({
            imports: [PrismaModule],
            // sqlFlavor turns Propagation.Nested into SAVEPOINT statements, which Koper follows.
            // (cast: its declarations do not compile under exactOptionalPropertyTypes)
            adapter: new TransactionalAdapterPrisma<Prisma>({ prismaInjectionToken: PRISMA, sqlFlavor: "postgresql" }) as unknown as TransactionalAdapter<Prisma, PrismaTx, unknown>,
          }),
        ],
      }),
    ],
    providers: [Seen, OrderService, TagService, Recorder],
  })
  class AppModule {}
  return AppModule;
}

const postgres = await prismaDatabase("postgres");

describe.skipIf(postgres.skip !== undefined)("@koper/nestjs with @nestjs-cls/transactional (Prisma adapter), PostgreSQL", () => {
  let opened: Opened | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    await opened?.drop();
    app = opened = undefined;
  });

  async function boot() {
    opened = await postgres.open(); // this test's own schema, with the tables
    const moduleRef = await Test.createTestingModule({ imports: [appModule(opened.name)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return { koper: app.get(Koper), seen: app.get(Seen), orders: app.get(OrderService) };
  }

  const summary = (events: DataEvent[]) => events.map((e) => `${e.action} ${e.entity} ${(e.data as { number?: string; name?: string }).number ?? (e.data as { name?: string }).name ?? ""}`.trim());

  it("a @Transactional() method's writes are delivered after COMMIT, as one Koper transaction in order", async () => {
    const { koper, seen, orders } = await boot();
    expect(await orders.place("T-1")).toBe(0); // seen inside the transaction, after settle(): nothing
    await koper.settle();
    expect(summary(seen.events)).toEqual(["insert Order T-1", "insert OrderLine", "update Order T-1"]);
    expect(seen.committedWhenHandled).toEqual([true]);
    expect(new Set(seen.events.map((e) => e.transaction.id)).size).toBe(1);
    expect(seen.events.map((e) => e.transaction.position)).toEqual([0, 1, 2]);
  });

  it("a throw inside the @Transactional() method rolls back: no event", async () => {
    const { koper, seen, orders } = await boot();
    await expect(orders.place("T-2", true)).rejects.toThrow("payment declined");
    await koper.settle();
    expect(seen.events).toEqual([]);
    expect(await opened!.client.order.count()).toBe(0);
  });

  it("Propagation.Nested rolls back only its savepoint's writes; RequiresNew commits on its own", async () => {
    const { koper, seen, orders } = await boot();
    await orders.placeWithTags("T-3");
    await koper.settle();
    expect((await opened!.client.tag.findMany({ orderBy: { id: "asc" } })).map((t) => t.name)).toEqual(["T-3-kept", "T-3-alone"]);
    const alone = seen.events.filter((e) => (e.data as { name?: string }).name === "T-3-alone");
    const outer = seen.events.filter((e) => !alone.includes(e));
    expect(summary(outer)).toEqual(["insert Order T-3", "insert Tag T-3-kept", "update Order T-3"]);
    expect(new Set(outer.map((e) => e.transaction.id)).size).toBe(1);
    expect(outer.map((e) => e.transaction.position)).toEqual([0, 1, 2]);
    expect(alone).toHaveLength(1);
    expect(alone[0]!.transaction.id).not.toBe(outer[0]!.transaction.id);
  });
});
