import { describe, expect, it } from "vitest";
import { isKoperError } from "../src/errors.ts";
import { KeyedScheduler } from "../src/runtime/KeyedScheduler.ts";
import { deferred } from "./support.ts";

describe("KeyedScheduler", () => {
  it("runs one key's tasks in order and other keys meanwhile; then forgets the keys", async () => {
    const scheduler = new KeyedScheduler();
    const log: string[] = [];
    const gate = deferred();
    const a1 = scheduler.run("a", async () => {
      await gate.promise;
      log.push("a1");
    });
    const a2 = scheduler.run("a", async () => void log.push("a2"));
    const b1 = scheduler.run("b", async () => void log.push("b1"));
    await b1;
    expect(log).toEqual(["b1"]);
    gate.resolve();
    await Promise.all([a1, a2]);
    expect(log).toEqual(["b1", "a1", "a2"]);
    await new Promise((r) => setImmediate(r));
    expect(scheduler.activeKeys).toBe(0);
  });

  it("stops a key's chain at a rejected task: what was queued behind it rejects unrun, other keys go on", async () => {
    const scheduler = new KeyedScheduler();
    const log: string[] = [];
    const gate = deferred();
    const a1 = scheduler.run("a", async () => {
      await gate.promise;
      throw new Error("a1 failed");
    });
    const a2 = scheduler.run("a", async () => void log.push("a2"));
    const a3 = scheduler.run("a", async () => void log.push("a3"));
    const b1 = scheduler.run("b", async () => void log.push("b1"));
    gate.resolve();
    await expect(a1).rejects.toThrow("a1 failed");
    const held = await a2.catch((error: unknown) => error);
    expect(isKoperError(held) && held.code === "redelivery_pending" && held.retriable).toBe(true);
    await expect(a3).rejects.toMatchObject({ code: "redelivery_pending" });
    await b1;
    expect(log).toEqual(["b1"]);
    await new Promise((r) => setImmediate(r));
    expect(scheduler.activeKeys).toBe(0);
    // Once the chain has drained, the key runs again: the redelivered message comes first.
    await scheduler.run("a", async () => void log.push("a1 again"));
    await scheduler.run("a", async () => void log.push("a2 again"));
    expect(log).toEqual(["b1", "a1 again", "a2 again"]);
  });
});
