import { describe, expect, it } from "vitest";
import {
  Koper,
  StopError,
  dataListener,
  decode,
  isKoperError,
  listen,
  type DataEvent,
  type LifecycleEvent,
} from "@koper/core";
import { deferred, orderDraft, unique, deadLetters } from "./support.ts";

describe("stop, lifecycle, metrics", () => {
  it("drains accepted messages before stopping", async () => {
    const topic = unique("t");
    const got: number[] = [];
    const koper = new Koper().register(
      listen({
        topic,
        onMessage: async (i: number) => {
          await new Promise((r) => setImmediate(r));
          got.push(i);
        },
      }),
    );
    await koper.start();
    await Promise.all(Array.from({ length: 200 }, (_, i) => koper.sender.send(topic, i)));
    await koper.stop();
    expect(got).toHaveLength(200);
  });

  it("lets a second stop() wait for the first to finish", async () => {
    const topic = unique("t");
    const gate = deferred();
    let finished = false;
    const koper = new Koper().register(
      listen({
        topic,
        onMessage: async () => {
          await gate.promise;
          finished = true;
        },
      }),
    );
    await koper.start();
    await koper.sender.send(topic, "x");
    const first = koper.stop();
    const second = koper.stop().then(() => finished);
    gate.resolve();
    expect(await second).toBe(true);
    await first;
  });

  it("gives up on a handler that never returns when the deadline passes, with a typed error", async () => {
    const topic = unique("t");
    const started = deferred();
    const koper = new Koper().register(
      listen({
        topic,
        onMessage: () => {
          started.resolve();
          return new Promise(() => {});
        },
      }),
    );
    await koper.start();
    await koper.sender.send(topic, "stuck");
    await started.promise;
    const error = await koper.stop({ deadlineMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({ code: "stop_deadline_exceeded", details: { unfinished: 1 } });
    expect(isKoperError(error)).toBe(true);
  });

  it("reports published, handled and dropped lifecycle events with identity, and per-stage latency", async () => {
    const prefix = unique("p");
    const seen: string[] = [];
    const koper = new Koper({ topics: { prefix }, clientId: "shop-api" }).register(
      dataListener()({ entity: "Order", onInsertOrder: () => {} }),
    );
    let identity: unknown;
    koper.on("published", (e) => {
      seen.push(`published:${e.payload.count}`);
      identity = e.payload.identity;
    });
    koper.on("handled", (e) => void seen.push(`handled:${e.payload.attempts}`));
    koper.on("dropped", (e) => void seen.push(`dropped:${e.payload.reason}:${e.payload.ids.length}`));
    await koper.start();
    const tx = {};
    koper.capture.begin(tx);
    await koper.capture.record(tx, orderDraft(1));
    await koper.capture.record(tx, orderDraft(2));
    await koper.capture.commit(tx);
    const poisoned = {};
    koper.capture.begin(poisoned);
    await koper.capture.record(poisoned, orderDraft(3));
    koper.capture.poison(poisoned);
    await koper.capture.commit(poisoned);
    await koper.stop();
    expect(seen.sort()).toEqual(["dropped:poisoned:1", "handled:1", "handled:1", "published:2"]);
    expect(identity).toMatchObject({ role: "producer", clientId: "shop-api", pid: process.pid });
    const metrics = koper.metrics();
    expect(metrics).toMatchObject({ published: 2, handled: 2, dropped: 1 });
    for (const stage of ["commit", "publish", "deliver", "handle", "total"] as const) {
      expect(metrics.latency[stage].count).toBe(2);
      expect(metrics.latency[stage].p99).toBeGreaterThanOrEqual(metrics.latency[stage].p50);
    }
  });

  it("reports an oversize data event as publish_failed and still publishes the rest of its transaction", async () => {
    const prefix = unique("p");
    const got: number[] = [];
    const failed: LifecycleEvent<"publish_failed">[] = [];
    const koper = new Koper({ topics: { prefix }, maxPayloadBytes: 2000 }).register(
      dataListener<{ id: number }>()({ entity: "Order", onInsertOrder: (o) => void got.push(o.id) }),
    );
    koper.on("publish_failed", (e) => void failed.push(e));
    await koper.start();
    const tx = {};
    koper.capture.begin(tx);
    await koper.capture.record(tx, orderDraft(1));
    await koper.capture.record(tx, { ...orderDraft(2), data: { id: 2, blob: "x".repeat(5000) } });
    await koper.capture.commit(tx);
    await koper.stop();
    expect(got).toEqual([1]);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.payload.error).toMatchObject({ code: "payload_too_large" });
    expect(koper.metrics().publishFailed).toBe(1);
  });

  it("refuses register after start", async () => {
    const koper = new Koper();
    await koper.start();
    expect(() => koper.register(listen({ topic: "x", onMessage: () => {} }))).toThrow(/before koper.start/);
    await koper.stop();
  });

  it("decodes what it published: the dead-letter copy is the original bytes", async () => {
    const prefix = unique("p");
    const topic = `${prefix}.Order`;
    const dlq = deadLetters(topic);
    const koper = new Koper({ topics: { prefix }, retry: { retries: 0 } }).register(
      dataListener()({
        entity: "Order",
        onInsertOrder: () => {
          throw new Error("nope");
        },
      }),
      dlq.listener,
    );
    await koper.start();
    await koper.capture.record(undefined, orderDraft(5));
    await koper.stop();
    const event = decode(dlq.received[0]!.meta.raw) as DataEvent;
    expect(event).toMatchObject({ entity: "Order", key: { id: 5 }, data: { id: 5, qty: 5 } });
  });
});
