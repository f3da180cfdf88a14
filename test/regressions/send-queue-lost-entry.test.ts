// Regression: SendQueue cleared its "running" flag in a .finally() one step after its loop saw an
// empty queue; an event published in that gap stayed queued forever (found by the core bench:
// 99,999 of 100,000 single-event transactions published).
import { describe, expect, it } from "vitest";
import { Koper, dataListener } from "@koper/core";
import { orderDraft, unique, until } from "../../packages/core/test/support.ts";

describe("regression: a publish queued while the previous send was finishing", () => {
  it("is sent, for every one of many single-event transactions", async () => {
    const prefix = unique("p");
    let handled = 0;
    const koper = new Koper({ topics: { prefix } }).register(
      dataListener()({ entity: "Order", onInsertOrder: () => void handled++ }),
    );
    await koper.start();
    for (let i = 0; i < 20_000; i++) {
      const tx = {};
      koper.capture.begin(tx);
      await koper.capture.record(tx, orderDraft(i % 100));
      await koper.capture.commit(tx);
    }
    await until(() => handled === 20_000, "every event", 20_000);
    await koper.stop();
    expect(koper.metrics().published).toBe(20_000);
  });
});
