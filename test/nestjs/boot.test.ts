// Boot-time behaviour of @koper/nestjs: discovery, refusals naming class and method, forRoot variants.
import "reflect-metadata";
import { AsyncLocalStorage } from "node:async_hooks";
import { DataListener, Koper, dataListener, listen, type DataEvent } from "@koper/core";
import { InjectKoper, KOPER_MODULE_OPTIONS, KoperModule, type KoperHandlerCall, type KoperHandlerScope, type KoperHttpOptions, type KoperModuleOptions } from "@koper/nestjs";
import { Controller, Get, Inject, Injectable, Module, Scope, type LoggerService } from "@nestjs/common";
import request from "supertest";
import { REQUEST } from "@nestjs/core";
import { Test } from "@nestjs/testing";
import { describe, expect, it } from "vitest";
import { unique } from "../../packages/core/test/support.ts";

const order = (id: number) => ({ entity: "Order", action: "insert" as const, key: { id }, data: { id }, source: { orm: "test" } });

@Injectable()
class Calls {
  readonly list: string[] = [];
}

@Injectable()
@DataListener({ entity: "Order" })
class OrderListener {
  constructor(@Inject(Calls) private readonly calls: Calls) {}
  onInsertOrder(row: { id: number }, _event: DataEvent) {
    this.calls.list.push(`insert ${row.id}`);
  }
}

@Module({ providers: [Calls, OrderListener], exports: [Calls] })
class OrdersModule {}

function koperModule(extra: KoperModuleOptions = {}) {
  return KoperModule.forRoot({ koper: { topics: { prefix: unique("nest") } }, logger: false, warnWithoutShutdownHooks: false, ...extra });
}

async function boot(imports: unknown[], providers: unknown[] = []) {
  const moduleRef = await Test.createTestingModule({ imports: imports as never[], providers: providers as never[] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  return { moduleRef, app };
}

describe("@koper/nestjs boot", () => {
  it("compile() alone registers and starts nothing; init() registers and starts", async () => {
    const { app } = await boot([koperModule(), OrdersModule]);
    const koper = app.get(Koper);
    // Still idle: a manual start succeeds (it would throw "already running"), with no listener registered.
    await koper.start();
    await koper.capture.record(undefined, order(1));
    await koper.settle();
    expect(app.get(Calls).list).toEqual([]);
    await koper.stop();

    const second = await boot([koperModule(), OrdersModule]);
    await second.app.init();
    const started = second.app.get(Koper);
    await expect(started.start()).rejects.toThrow(/already running/);
    await started.capture.record(undefined, order(2));
    await started.settle();
    expect(second.app.get(Calls).list).toEqual(["insert 2"]);
    await second.app.close();
  });

  it("a misspelt handler fails boot, naming the class and the method", async () => {
    @Injectable()
    // @ts-expect-error onInsrtOrder is not a handler of Order (TS1238 on the decorator)
    @DataListener({ entity: "Order" })
    class TypoListener {
      onInsrtOrder() {}
    }
    const { app } = await boot([koperModule()], [TypoListener]);
    await expect(app.init()).rejects.toThrow(/TypoListener\.onInsrtOrder matches no action/);
  });

  it("a request-scoped listener, or one depending on request scope, fails boot naming the class", async () => {
    @Injectable({ scope: Scope.REQUEST })
    @DataListener({ entity: "Order" })
    class ScopedListener {
      onInsertOrder() {}
    }
    const first = await boot([koperModule()], [ScopedListener]);
    await expect(first.app.init()).rejects.toThrow(/ScopedListener is a Koper listener but it is request-scoped/);

    @Injectable()
    @DataListener({ entity: "Order" })
    class NeedsRequest {
      constructor(@Inject(REQUEST) readonly request: unknown) {}
      onInsertOrder() {}
    }
    const second = await boot([koperModule()], [NeedsRequest]);
    await expect(second.app.init()).rejects.toThrow(/NeedsRequest is a Koper listener but it is request-scoped/);
  });

  it("a listener class provided by two modules is registered once; function-API listeners given as values are found", async () => {
    @Module({ imports: [OrdersModule], providers: [OrderListener] })
    class AlsoOrders {}
    const messages: string[] = [];
    const topic = unique("signup");
    const warnings: string[] = [];
    const logger: LoggerService = { log() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    const { app } = await boot(
      [koperModule({ logger }), OrdersModule, AlsoOrders],
      [{ provide: "signup", useValue: listen({ topic, group: unique("g"), onMessage: (m: string) => void messages.push(m) }) }],
    );
    await app.init();
    const koper = app.get(Koper);
    await koper.capture.record(undefined, order(7));
    await koper.sender.send(topic, "hello");
    await koper.settle();
    expect(app.get(Calls).list).toEqual(["insert 7"]);
    expect(messages).toEqual(["hello"]);
    expect(warnings.join("\n")).toMatch(/OrderListener is provided by more than one module/);
    await app.close();
  });

  it("takes a Koper you built, or options from forRootAsync's useFactory, useClass or useExisting", async () => {
    const mine = new Koper({ topics: { prefix: unique("mine") } });
    const given = await boot([KoperModule.forRoot({ koper: mine, logger: false, warnWithoutShutdownHooks: false }), OrdersModule]);
    await given.app.init();
    expect(given.app.get(Koper)).toBe(mine);
    await given.app.close();

    @Injectable()
    class KoperConfig {
      create(): KoperModuleOptions {
        return { koper: { clientId: "from-class" }, logger: false, warnWithoutShutdownHooks: false };
      }
    }
    @Module({ providers: [KoperConfig], exports: [KoperConfig] })
    class ConfigModule {}
    for (const variant of [
      KoperModule.forRootAsync({ imports: [ConfigModule], useFactory: (c: KoperConfig) => c.create(), inject: [KoperConfig] }),
      KoperModule.forRootAsync({ useClass: KoperConfig }),
      KoperModule.forRootAsync({ imports: [ConfigModule], useExisting: KoperConfig }),
    ]) {
      const { app } = await boot([variant, OrdersModule]);
      await app.init();
      expect(app.get(KOPER_MODULE_OPTIONS)).toMatchObject({ koper: { clientId: "from-class" } });
      await app.get(Koper).capture.record(undefined, order(3));
      await app.get(Koper).settle();
      expect(app.get(Calls).list).toEqual(["insert 3"]);
      await app.close();
    }
  });

  it("isGlobal: false keeps Koper to the modules that import KoperModule", async () => {
    @Injectable()
    class UsesKoper {
      constructor(@InjectKoper() readonly koper: Koper) {}
    }
    @Module({ providers: [UsesKoper] })
    class Elsewhere {}
    await expect(boot([KoperModule.forRoot({ isGlobal: false, logger: false }), Elsewhere])).rejects.toThrow(/UsesKoper/);
    @Module({ imports: [KoperModule.forRoot({ isGlobal: false, logger: false, warnWithoutShutdownHooks: false })], providers: [UsesKoper] })
    class Importing {}
    const { app } = await boot([Importing]);
    await app.init();
    expect(app.get(UsesKoper).koper).toBeInstanceOf(Koper);
    await app.close();
  });

  it("runs every handler call inside the handler scopes, outermost first, with their own DI", async () => {
    const store = new AsyncLocalStorage<string[]>();
    @Injectable()
    class Tracer {
      readonly calls: string[] = [];
    }
    @Injectable()
    class RequestContextScope implements KoperHandlerScope {
      constructor(@Inject(Tracer) private readonly tracer: Tracer) {}
      run(call: KoperHandlerCall, next: () => Promise<unknown>) {
        const event = call.args[1] as DataEvent;
        this.tracer.calls.push(`enter ${call.method} ${event.id === undefined ? "?" : "event"}`);
        return store.run([`context of ${String((call.args[0] as { id: number }).id)}`], next);
      }
    }
    @Injectable()
    class InnerScope implements KoperHandlerScope {
      async run(_call: KoperHandlerCall, next: () => Promise<unknown>) {
        store.getStore()?.push("inner");
        return next();
      }
    }
    @Injectable()
    @DataListener({ entity: "Order" })
    class ScopedOrderListener {
      readonly seen: string[][] = [];
      onModuleInit() {}
      async onInsertOrder() {
        await new Promise((resolve) => setImmediate(resolve));
        this.seen.push([...(store.getStore() ?? ["no scope"])]);
      }
    }
    const { app } = await boot([koperModule({ handlerScopes: [RequestContextScope, InnerScope] })], [Tracer, RequestContextScope, InnerScope, ScopedOrderListener]);
    await app.init();
    const koper = app.get(Koper);
    await Promise.all([1, 2, 3].map((id) => koper.capture.record(undefined, order(id))));
    await koper.settle();
    expect(app.get(ScopedOrderListener).seen.sort()).toEqual([
      ["context of 1", "inner"],
      ["context of 2", "inner"],
      ["context of 3", "inner"],
    ]);
    expect(app.get(Tracer).calls).toEqual(["enter onInsertOrder event", "enter onInsertOrder event", "enter onInsertOrder event"]);
    await app.close();
  });

  it("consume: false registers no listener (a publish-only process)", async () => {
    const { app } = await boot([koperModule({ consume: false }), OrdersModule]);
    await app.init();
    const koper = app.get(Koper);
    await koper.capture.record(undefined, order(5));
    await koper.settle();
    expect(app.get(Calls).list).toEqual([]);
    await app.close();
  });

  it("the middleware gives each request its id (header or a new one), skips excluded routes, and http: false mounts none", async () => {
    @Controller()
    class WriteController {
      constructor(@InjectKoper() private readonly koper: Koper) {}
      @Get("write")
      async write() {
        await this.koper.capture.record(undefined, order(Math.floor(Math.random() * 1e9)));
        return { ok: true };
      }
      @Get("health")
      async health() {
        await this.koper.capture.record(undefined, order(Math.floor(Math.random() * 1e9)));
        return { ok: true };
      }
    }
    const contexts = async (http: KoperHttpOptions | false, path: string, headers: Record<string, string> = {}) => {
      const seen: DataEvent["context"][] = [];
      const recorder = dataListener()({ entity: "Order", group: unique("g"), onInsertOrder: (_row, event) => void seen.push(event.context) });
      const moduleRef = await Test.createTestingModule({
        imports: [koperModule({ http })],
        controllers: [WriteController],
        providers: [{ provide: "recorder", useValue: recorder }],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      await request(app.getHttpServer()).get(path).set(headers).expect(200);
      await app.get(Koper).settle();
      await app.close();
      expect(seen).toHaveLength(1);
      return seen[0];
    };
    expect(await contexts({}, "/write", { "x-request-id": "req-1" })).toMatchObject({ requestId: "req-1" });
    expect((await contexts({}, "/write"))?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await contexts({ exclude: ["health"] }, "/health", { "x-request-id": "req-2" })).toEqual({});
    expect(await contexts(false, "/write", { "x-request-id": "req-3" })).toEqual({});
  });
});
