// Regression (issue 7, item 9): handlers ran in the async context of whoever triggered the delivery.
// Three concurrent runWith writes by alice, bob and carol: bob's and carol's handlers saw alice.
import { Koper, currentContext, type KoperContext } from "@koper/core";
import { describe, expect, it } from "vitest";
import { unique, until } from "../../packages/core/test/support.ts";
import { contextListeners, expectOwnContexts, writeAsActors } from "./handler-context.ts";

describe("regression: each handler runs in its own event's context (in-process)", () => {
  it("with 50 concurrent actors, for data events, a handler's own writes and plain messages", async () => {
    const actors = 50;
    const topic = unique("signup");
    const koper = new Koper({ topics: { prefix: unique("p") }, concurrency: 4 });
    const seen = contextListeners(koper, topic);
    // Lifecycle listeners of the delivery path must not see the publisher's context either.
    const lifecycleContexts: (KoperContext | undefined)[] = [];
    koper.on("handled", () => void lifecycleContexts.push(currentContext()));
    await koper.start();
    try {
      await writeAsActors(koper, topic, actors);
      await until(() => seen.orders.size === actors && seen.audits.size === actors && seen.messages.size === actors, "every handler");
      expectOwnContexts(seen, actors);
      expect(lifecycleContexts.filter((c) => c?.actor !== undefined)).toEqual([]);
    } finally {
      await koper.stop();
    }
  });
});
