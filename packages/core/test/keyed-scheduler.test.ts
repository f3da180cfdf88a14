import { describe, expect, it } from "vitest";
import { KeyedScheduler } from "../src/runtime/KeyedScheduler.ts";
import { deferred } from "./support.ts";

describe("KeyedScheduler", () => {
  it("runs one key's tasks in order, even past a failing one, and other keys meanwhile; then forgets the keys", async () => {
    const scheduler = new KeyedScheduler();
    const log: string[] = [];
    const gate = deferred();
    const a1 = scheduler.run("a", async () => {
      await gate.promise;
      log.push("a1");
      throw new Error("a1 failed");
    });
    const a2 = scheduler.run("a", async () => void log.push("a2"));
    const b1 = scheduler.run("b", async () => void log.push("b1"));
    await b1;
    expect(log).toEqual(["b1"]);
    gate.resolve();
    await expect(a1).rejects.toThrow("a1 failed");
    await a2;
    expect(log).toEqual(["b1", "a1", "a2"]);
    await new Promise((r) => setImmediate(r));
    expect(scheduler.activeKeys).toBe(0);
  });
});
