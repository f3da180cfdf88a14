// Consumer groups of one Koper's listeners: members of one group share its messages, so two
// listeners must not fall into one group by default (each would get part of the events, and over
// Kafka two listeners of different topics in one group starve). Found with two `dataListener()`
// objects on one entity: each got 5 of 10 events.
import { DataListener, dataListener, isKoperError, Koper, listen } from "@koper/core";
import { describe, expect, it } from "vitest";

async function insertOrders(koper: Koper, n: number): Promise<void> {
  for (let id = 0; id < n; id++) {
    const tx = {};
    koper.capture.begin(tx);
    await koper.capture.record(tx, { entity: "Order", action: "insert", key: { id }, data: { id }, source: { orm: "test" } });
    await koper.capture.commit(tx);
  }
  await koper.settle();
}

function refusal(register: () => unknown): string {
  try {
    register();
  } catch (error) {
    expect(isKoperError(error) && error.code).toBe("invalid_config");
    return (error as Error).message;
  }
  throw new Error("expected register() to refuse");
}

describe("listener consumer groups", () => {
  it("a listen() object and a dataListener() object get groups named by what they consume, and each gets every message", async () => {
    const koper = new Koper();
    const orders: number[] = [];
    const signups: string[] = [];
    const groups: string[] = [];
    koper.on("handled", (event) => void groups.push(event.payload.group));
    koper.register(
      listen({ topic: "koper.memberSignup", onMessage: (msg: string) => void signups.push(msg) }),
      dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (order) => void orders.push(order.id) }),
    );
    await koper.start();
    await insertOrders(koper, 10);
    await koper.sender.send("koper.memberSignup", "ada");
    await koper.settle();
    await koper.stop();
    expect(orders).toHaveLength(10);
    expect(signups).toEqual(["ada"]);
    expect(new Set(groups)).toEqual(new Set(["listener:koper.Order", "listener:koper.memberSignup"]));
  });

  it("two dataListener() objects on one entity without a group are refused, naming the group; with groups each gets every event", async () => {
    const koper = new Koper();
    const a: number[] = [];
    const b: number[] = [];
    const message = refusal(() =>
      koper.register(
        dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (order) => void a.push(order.id) }),
        dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (order) => void b.push(order.id) }),
      ),
    );
    expect(message).toContain('consumer group "listener:koper.Order"');
    expect(message).toContain("each would get only part of its events");

    const named = new Koper();
    named.register(
      dataListener<{ id: number }>()({ entity: "Order", group: "billing", onInsertOrder: (order) => void a.push(order.id) }),
      dataListener<{ id: number }>()({ entity: "Order", group: "shipping", onInsertOrder: (order) => void b.push(order.id) }),
    );
    a.length = 0;
    await named.start();
    await insertOrders(named, 10);
    await named.stop();
    expect([a.length, b.length]).toEqual([10, 10]);
  });

  it("one group named for different topics is refused; one class registered twice is refused", () => {
    const message = refusal(() =>
      new Koper().register(
        listen({ topic: "koper.a", group: "shared", onMessage: () => {} }),
        listen({ topic: "koper.b", group: "shared", onMessage: () => {} }),
      ),
    );
    expect(message).toContain("they consume different topics (koper.a / koper.b), and over Kafka one of them would get nothing");

    @DataListener({ entity: "Order" })
    class OrderListener {
      onInsertOrder() {}
    }
    expect(refusal(() => new Koper().register(new OrderListener(), new OrderListener()))).toContain('consumer group "OrderListener"');
  });

  it("listeners that name one group for the same topics share its work, as asked", async () => {
    const koper = new Koper();
    const seen: number[] = [];
    const member = () => dataListener<{ id: number }>()({ entity: "Order", group: "workers", onInsertOrder: (order) => void seen.push(order.id) });
    koper.register(member(), member());
    await koper.start();
    await insertOrders(koper, 10);
    await koper.stop();
    expect(seen.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
