// Regression (issue 7, item 10): a listener class with a framework lifecycle method (NestJS's
// onModuleInit, onApplicationBootstrap, …) was refused by register() with a ListenerError and by
// the compiler (TS1238), because the name looks like a handler. `npm test` type-checks this file
// first, so each @ts-expect-error below must stay an error.
import { DataListener, FRAMEWORK_LIFECYCLE_METHODS, Koper, ListenerError, dataListener, isListener, type DataEvent } from "@koper/core";
import { describe, expect, it } from "vitest";
import { unique, until } from "../../packages/core/test/support.ts";

interface Order {
  id: number;
}

describe("regression: framework lifecycle methods on a listener", () => {
  it("are not handlers: the class compiles, registers and gets its events; the hooks are never called by Koper", async () => {
    const calls: string[] = [];
    @DataListener({ entity: "Order" })
    class OrderListener {
      onModuleInit() {
        calls.push("onModuleInit");
      }
      onApplicationBootstrap() {
        calls.push("onApplicationBootstrap");
      }
      onModuleDestroy() {}
      beforeApplicationShutdown(_signal?: string) {}
      onApplicationShutdown(_signal?: string) {}
      onInsertOrder(order: Order, _event: DataEvent<Order>) {
        calls.push(`insert ${order.id}`);
      }
    }
    const koper = new Koper({ topics: { prefix: unique("p") } }).register(new OrderListener());
    await koper.start();
    await koper.capture.record(undefined, { entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1 }, source: { orm: "test" } });
    await until(() => calls.length > 0, "the insert");
    await koper.stop();
    expect(calls).toEqual(["insert 1"]);
    expect(FRAMEWORK_LIFECYCLE_METHODS).toEqual([
      "onModuleInit",
      "onApplicationBootstrap",
      "onModuleDestroy",
      "beforeApplicationShutdown",
      "onApplicationShutdown",
    ]);
  });

  it("still refuses a misspelt handler next to them, at compile time and at register()", () => {
    // @ts-expect-error onInsrtOrder is not a handler name of Order (the lifecycle hook beside it is fine)
    @DataListener({ entity: "Order" })
    class Typo {
      onModuleInit() {}
      onInsrtOrder() {}
    }
    expect(() => new Koper().register(new Typo())).toThrow(ListenerError);
    expect(() => new Koper().register(new Typo())).toThrow(/Typo\.onInsrtOrder/);
    // A near-miss of a lifecycle name is no lifecycle hook: it is checked like any handler name.
    // @ts-expect-error onModuleInt is neither a hook nor a handler of Order
    @DataListener({ entity: "Order" })
    class NearMiss {
      onModuleInt() {}
      onInsertOrder() {}
    }
    expect(() => new Koper().register(new NearMiss())).toThrow(/NearMiss\.onModuleInt/);
  });

  it("a listener with only lifecycle hooks has no handler", () => {
    @DataListener({ entity: "Order" })
    class HooksOnly {
      onModuleInit() {}
    }
    expect(() => new Koper().register(new HooksOnly())).toThrow(/HooksOnly has no handler/);
  });
});

describe("isListener", () => {
  it("recognises decorated classes, their instances and function-API listeners, and nothing else", () => {
    @DataListener({ entity: "Order" })
    class OrderListener {
      onInsertOrder() {}
    }
    class Subclass extends OrderListener {}
    class Plain {
      onInsertOrder() {}
    }
    expect(isListener(OrderListener)).toBe(true);
    expect(isListener(new OrderListener())).toBe(true);
    expect(isListener(new Subclass())).toBe(true);
    expect(isListener(dataListener()({ entity: "Order", onInsertOrder: () => {} }))).toBe(true);
    for (const value of [new Plain(), Plain, {}, null, undefined, "OrderListener", 1, Object.create(null)]) {
      expect(isListener(value)).toBe(false);
    }
  });
});
