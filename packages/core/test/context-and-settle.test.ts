import { describe, expect, it } from "vitest";
import { Koper, currentContext, dataListener, listen, type DataEvent, type KoperContext } from "@koper/core";
import { deadLetters, fastRetry, orderDraft, unique } from "./support.ts";

describe("the context supplier option", () => {
  it("stamps what it supplies on captured events and sent messages, under runWith's fields", async () => {
    const topic = unique("t");
    let supplied: KoperContext | undefined = { actor: "from-supplier", requestId: "req-s", tenant: "acme" };
    const events: DataEvent[] = [];
    const messages: (KoperContext | undefined)[] = [];
    const koper = new Koper({ topics: { prefix: unique("p") }, context: () => supplied }).register(
      dataListener()({ entity: "Order", onInsertOrder: (_order, event) => void events.push(event) }),
      listen({ topic, onMessage: () => void messages.push(currentContext()) }),
    );
    await koper.start();
    await koper.capture.record(undefined, orderDraft(1));
    await koper.runWith({ actor: "alice" }, () => koper.capture.record(undefined, orderDraft(2)));
    await koper.sender.send(topic, "hello");
    supplied = undefined;
    await koper.capture.record(undefined, orderDraft(3));
    await koper.settle();
    await koper.stop();
    const byId = new Map(events.map((e) => [e.key!.id, e.context]));
    expect(byId.get(1)).toEqual({ actor: "from-supplier", requestId: "req-s", tenant: "acme" });
    expect(byId.get(2)).toEqual({ actor: "alice", requestId: "req-s", tenant: "acme" });
    expect(byId.get(3)).toEqual({});
    expect(messages[0]).toMatchObject({ actor: "from-supplier", requestId: "req-s", tenant: "acme" });
  });

  it("a supplier that throws supplies nothing, and the write's event still goes", async () => {
    const events: DataEvent[] = [];
    const koper = new Koper({
      topics: { prefix: unique("p") },
      context: () => {
        throw new Error("no request scope here");
      },
    }).register(dataListener()({ entity: "Order", onInsertOrder: (_o, event) => void events.push(event) }));
    await koper.start();
    await koper.runWith({ actor: "bob" }, () => koper.capture.record(undefined, orderDraft(1)));
    await koper.settle();
    await koper.stop();
    expect(events.map((e) => e.context)).toEqual([{ actor: "bob" }]);
  });
});

describe("koper.settle()", () => {
  it("resolves once everything published so far is handled, dead-lettered, and what handlers published in turn", async () => {
    const prefix = unique("p");
    const topic = unique("t");
    const dlq = deadLetters(topic);
    const order: string[] = [];
    const koper = new Koper({ topics: { prefix }, retry: fastRetry });
    koper.register(
      dataListener()({
        entity: "Order",
        onInsertOrder: async (o) => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          order.push(`order ${String(o.id)}`);
          await koper.sender.send(topic, o.id); // published by a handler: settle waits for it too
        },
      }),
      listen({
        topic,
        onMessage: (id: number) => {
          if (id === 3) throw new Error("refused");
          order.push(`message ${id}`);
        },
      }),
      dlq.listener,
    );
    await koper.start();
    for (let id = 1; id <= 5; id++) await koper.capture.record(undefined, orderDraft(id));
    await koper.settle();
    expect(order.filter((o) => o.startsWith("order"))).toHaveLength(5);
    expect(order.filter((o) => o.startsWith("message")).sort()).toEqual(["message 1", "message 2", "message 4", "message 5"]);
    expect(dlq.received.map((r) => r.payload)).toEqual([3]);
    await koper.stop();
  });

  it("resolves at once when nothing was published", async () => {
    const koper = new Koper();
    await koper.start();
    await koper.settle();
    await koper.stop();
  });
});
