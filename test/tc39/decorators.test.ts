// Compiled with standard TC39 decorators (this folder's tsconfig turns experimentalDecorators off).
import { describe, expect, it } from "vitest";
import { DataListener, Koper, Listen, type DataEvent } from "@koper/core";

const probed: unknown[] = [];
function probe(_target: unknown, context?: { kind?: string }) {
  probed.push(context?.kind);
}

@probe
class Probe {}

describe("decorators under standard TC39 semantics", () => {
  it("compiles this file as TC39 decorators (a decorator gets a context)", () => {
    void Probe;
    expect(probed).toEqual(["class"]);
  });

  it("routes @Listen and @DataListener the same as with experimentalDecorators", async () => {
    const got: string[] = [];
    @Listen({ topic: "tc39.signup" })
    class SignupListener {
      onMessage(msg: string) {
        got.push(msg);
      }
    }
    @DataListener({ entity: "Order" })
    class OrderListener {
      onInsertOrder(order: { id: number }, event: DataEvent) {
        got.push(`${event.action}:${order.id}`);
      }
    }
    const koper = new Koper({ topics: { prefix: "tc39" } }).register(new SignupListener(), new OrderListener());
    await koper.start();
    await koper.sender.send("tc39.signup", "hello");
    await koper.capture.record(undefined, { entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1 }, source: { orm: "test" } });
    await koper.stop();
    expect(got.sort()).toEqual(["hello", "insert:1"]);
  });

  it("accepts framework lifecycle hooks on a data listener, and still routes its handlers", async () => {
    const got: string[] = [];
    @DataListener({ entity: "Order" })
    class HookedListener {
      onModuleInit() {}
      onApplicationShutdown() {}
      onInsertOrder(order: { id: number }) {
        got.push(`insert:${order.id}`);
      }
    }
    const koper = new Koper({ topics: { prefix: "tc39-hooks" } }).register(new HookedListener());
    await koper.start();
    await koper.capture.record(undefined, { entity: "Order", action: "insert", key: { id: 2 }, data: { id: 2 }, source: { orm: "test" } });
    await koper.stop();
    expect(got).toEqual(["insert:2"]);
  });
});
