import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CONTENT_TYPE,
  ConfigError,
  Headers,
  Koper,
  Listen,
  PublishError,
  listen,
  type LifecycleEvent,
  type MessageMeta,
} from "@koper/core";
import { unique, deadLetters, fastRetry } from "./support.ts";

describe("plain messages", () => {
  it("delivers sender.send to @Listen onMessage with its metadata", async () => {
    const topic = unique("koper.memberSignup");
    const got: [string, MessageMeta][] = [];
    @Listen({ topic })
    class MemberSignupListener {
      async onMessage(msg: string, meta: MessageMeta) {
        got.push([msg, meta]);
      }
    }
    const koper = new Koper().register(new MemberSignupListener());
    await koper.start();
    const id = await koper.sender.send(topic, "Signed up successfully! 13800000000", { key: "m1", headers: { x: "1" } });
    await koper.stop();
    expect(got).toHaveLength(1);
    const [msg, meta] = got[0]!;
    expect(msg).toBe("Signed up successfully! 13800000000");
    expect(meta).toMatchObject({ topic, key: "m1", id, attempt: 1, headers: { x: "1", [Headers.id]: id } });
  });

  it("keeps unkeyed messages in send order and delivers structured payloads intact", async () => {
    const topic = unique("t");
    const got: unknown[] = [];
    const koper = new Koper().register(listen({ topic, onMessage: (p) => void got.push(p) }));
    await koper.start();
    for (let i = 0; i < 50; i++) await koper.sender.send(topic, { i, at: new Date(i), big: BigInt(i) });
    await koper.stop();
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => ({ i, at: new Date(i), big: BigInt(i) })));
  });

  it("keeps a message sent before start() for the listener that starts later", async () => {
    const topic = unique("t");
    const got: string[] = [];
    const koper = new Koper().register(listen({ topic, onMessage: (p: string) => void got.push(p) }));
    await koper.sender.send(topic, "early");
    await koper.start();
    await koper.stop();
    expect(got).toEqual(["early"]);
  });

  it("gives a foreign payload (no Koper content type) to onMessage as text", async () => {
    const topic = unique("t");
    const got: unknown[] = [];
    const koper = new Koper().register(listen({ topic, onMessage: (p) => void got.push(p) }));
    await koper.start();
    await koper.transport.send([{ topic, key: null, value: Buffer.from("plain text"), headers: {} }]);
    await koper.stop();
    expect(got).toEqual(["plain text"]);
  });

  it("refuses a bad topic name and an oversize payload with typed errors, before anything is sent", async () => {
    const koper = new Koper({ maxPayloadBytes: 100 });
    await koper.start();
    await expect(koper.sender.send("bad topic", 1)).rejects.toBeInstanceOf(ConfigError);
    const error = await koper.sender.send("ok", "x".repeat(200)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).code).toBe("payload_too_large");
    expect((error as Error).message).toMatch(/over the 100-byte limit/);
    expect(koper.metrics().published).toBe(0);
    await koper.stop();
    await expect(koper.sender.send("ok", 1)).rejects.toMatchObject({ code: "stopped" });
  });

  it("sends a payload that fails the listener's zod schema to the dead letter with the issues", async () => {
    const topic = unique("t");
    const dlq = deadLetters(topic);
    const got: unknown[] = [];
    const koper = new Koper().register(
      listen({ topic, schema: z.object({ phone: z.string().regex(/^\d{11}$/) }), onMessage: (p) => void got.push(p) }),
      dlq.listener,
    );
    await koper.start();
    await koper.sender.send(topic, { phone: "13800000000" });
    await koper.sender.send(topic, { phone: "nope" });
    await koper.stop();
    expect(got).toEqual([{ phone: "13800000000" }]);
    expect(dlq.received).toHaveLength(1);
    expect(dlq.received[0]!.meta.headers[Headers.dlqReason]).toMatch(/^invalid_payload: .*phone/);
  });
});

describe("retries and dead letters", () => {
  it("retries a throwing handler with backoff and succeeds without a dead letter", async () => {
    const topic = unique("t");
    const attempts: number[] = [];
    const failures: LifecycleEvent<"handler_failed">[] = [];
    const koper = new Koper({ retry: fastRetry }).register(
      listen({
        topic,
        onMessage: (_p, meta) => {
          attempts.push(meta.attempt);
          if (meta.attempt < 3) throw new Error(`flaky ${meta.attempt}`);
        },
      }),
    );
    koper.on("handler_failed", (e) => void failures.push(e));
    await koper.start();
    await koper.sender.send(topic, "x");
    await koper.stop();
    expect(attempts).toEqual([1, 2, 3]);
    expect(failures.map((f) => [f.payload.attempt, f.payload.willRetry])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(koper.metrics()).toMatchObject({ handled: 1, retried: 2, deadLettered: 0 });
  });

  it("dead-letters after the last retry with the error, attempts and origin, then goes on", async () => {
    const topic = unique("t");
    const dlq = deadLetters(topic);
    const handled: string[] = [];
    const lettered: LifecycleEvent<"dead_lettered">[] = [];
    const koper = new Koper({ retry: fastRetry }).register(
      listen({
        topic,
        group: "billing",
        onMessage: (p: string) => {
          if (p === "poison") throw new TypeError("cannot bill");
          handled.push(p);
        },
      }),
      dlq.listener,
    );
    koper.on("dead_lettered", (e) => void lettered.push(e));
    await koper.start();
    for (const p of ["a", "poison", "b"]) await koper.sender.send(topic, p);
    await koper.stop();
    expect(handled).toEqual(["a", "b"]);
    expect(dlq.received.map((d) => d.payload)).toEqual(["poison"]);
    expect(dlq.received[0]!.meta.headers).toMatchObject({
      [Headers.dlqReason]: "cannot bill",
      [Headers.dlqError]: "TypeError",
      [Headers.dlqAttempts]: "3",
      [Headers.dlqGroup]: "billing",
      [Headers.originalTopic]: topic,
      [Headers.originalPartition]: "0",
      [Headers.originalOffset]: "1",
      [Headers.contentType]: CONTENT_TYPE,
    });
    expect(lettered[0]!.payload).toMatchObject({ attempts: 3, deadLetterTopic: `${topic}.dlq`, group: "billing" });
    expect(lettered[0]!.payload.identity).toMatchObject({ role: "consumer", pid: process.pid });
  });

  it("does not retry an error that says it is not retriable", async () => {
    const topic = unique("t");
    let calls = 0;
    const koper = new Koper({ retry: fastRetry }).register(
      listen({
        topic,
        onMessage: () => {
          calls++;
          throw Object.assign(new Error("bad request"), { retriable: false });
        },
      }),
    );
    await koper.start();
    await koper.sender.send(topic, "x");
    await koper.stop();
    expect(calls).toBe(1);
    expect(koper.metrics().deadLettered).toBe(1);
  });
});
