import { describe, expect, it } from "vitest";
import {
  InProcessTransport,
  Koper,
  PublishError,
  dataListener,
  type LifecycleEvent,
  type OutgoingMessage,
  type Transport,
} from "@koper/core";
import { deferred, orderDraft, unique, until } from "./support.ts";

// A fake of Koper's own Transport interface: records every send, can hold sends or fail them.
class RecordingTransport extends InProcessTransport {
  readonly calls: OutgoingMessage[][] = [];
  gate: Promise<void> | undefined;
  failWith: Error | undefined;

  override async send(messages: OutgoingMessage[]): Promise<void> {
    this.calls.push(messages);
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return super.send(messages);
  }
}

describe("the producer's send queue", () => {
  it("merges what is published in one tick into one transport call, in publish order", async () => {
    const transport = new RecordingTransport();
    const prefix = unique("p");
    const koper = new Koper({ transport, topics: { prefix } });
    await koper.start();
    const writes = Array.from({ length: 50 }, (_, i) => koper.capture.record(undefined, orderDraft(i)));
    await Promise.all(writes);
    await koper.stop();
    const sent = transport.calls.flat().map((m) => m.key);
    expect(sent).toEqual(Array.from({ length: 50 }, (_, i) => `Order:${i}`));
    expect(transport.calls.length).toBeLessThan(5);
  });

  it("keeps the order of a row's events without the writer awaiting the transport", async () => {
    const transport = new RecordingTransport();
    const gate = deferred();
    transport.gate = gate.promise;
    const prefix = unique("p");
    const seen: number[] = [];
    const koper = new Koper({ transport, topics: { prefix } }).register(
      dataListener<{ id: number; qty: number }>()({ entity: "Order", onUpdateOrder: (o) => void seen.push(o.qty) }),
    );
    await koper.start();
    for (let qty = 0; qty < 20; qty++) {
      // Each write is accepted while the transport still holds the first send.
      await koper.capture.record(undefined, { ...orderDraft(1, "update"), data: { id: 1, qty } });
    }
    gate.resolve();
    transport.gate = undefined;
    await koper.stop();
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("makes publishers wait while the queue is full, and loses nothing", async () => {
    const transport = new RecordingTransport();
    const gate = deferred();
    transport.gate = gate.promise;
    const koper = new Koper({ transport, topics: { prefix: unique("p") }, maxQueuedMessages: 3, maxBatchMessages: 2 });
    await koper.start();
    await koper.capture.record(undefined, orderDraft(0)); // in the held send
    await until(() => transport.calls.length === 1, "the first send");
    for (let i = 1; i <= 3; i++) await koper.capture.record(undefined, orderDraft(i)); // fills the queue
    let accepted = false;
    const fourth = koper.capture.record(undefined, orderDraft(4)).then(() => (accepted = true));
    await new Promise((r) => setImmediate(r));
    expect(accepted).toBe(false);
    gate.resolve();
    transport.gate = undefined;
    await fourth;
    await koper.stop();
    expect(transport.calls.flat().map((m) => m.key)).toEqual([0, 1, 2, 3, 4].map((i) => `Order:${i}`));
    expect(Math.max(...transport.calls.map((c) => c.length))).toBeLessThanOrEqual(2);
  });

  it("reports a failed send as publish_failed for data events, and rejects sender.send with the transport's own error", async () => {
    const transport = new RecordingTransport();
    const own = PublishError.transportFailed("x", new Error("broker down"));
    transport.failWith = own;
    const failed: LifecycleEvent<"publish_failed">[] = [];
    const koper = new Koper({ transport, topics: { prefix: unique("p") } });
    koper.on("publish_failed", (e) => void failed.push(e));
    await koper.start();
    await koper.capture.record(undefined, orderDraft(1));
    await expect(koper.sender.send("t", "x")).rejects.toBe(own);
    await until(() => failed.length === 1, "the publish_failed event");
    expect(failed[0]!.payload.error).toBe(own);
    expect(koper.metrics()).toMatchObject({ published: 0, publishFailed: 2 });
    transport.failWith = undefined;
    await koper.stop();
  });

  it("flushes what was queued before stop() closes the transport", async () => {
    const transport = new RecordingTransport();
    const koper = new Koper({ transport, topics: { prefix: unique("p") } });
    const got: number[] = [];
    koper.register(dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (o) => void got.push(o.id) }));
    await koper.start();
    for (let i = 0; i < 30; i++) void koper.capture.record(undefined, orderDraft(i));
    await koper.stop();
    expect(got).toHaveLength(30);
  });
});

// Keeps the compiler honest that RecordingTransport is a Transport.
const _typecheck: Transport = new RecordingTransport();
void _typecheck;
