import { describe, expect, it } from "vitest";
import { Headers, Koper, listen, type StandardSchemaV1 } from "@koper/core";
import { deadLetters, unique } from "./support.ts";

/** A validator that is not zod: any library implementing Standard Schema v1 works as `schema`. */
function phoneSchema(asynchronous = false): StandardSchemaV1<unknown, { phone: string }> {
  const check = (value: unknown) => {
    const phone = (value as { phone?: unknown } | null)?.phone;
    if (typeof phone === "string" && /^\d{11}$/.test(phone)) return { value: { phone: phone.trim() } };
    return { issues: [{ message: "expected 11 digits", path: [{ key: "phone" }] }] };
  };
  return {
    "~standard": {
      version: 1,
      vendor: "koper-test",
      validate: (value) => (asynchronous ? Promise.resolve(check(value)) : check(value)),
    },
  };
}

describe("a listener's schema is any Standard Schema", () => {
  it("hands the validated value to onMessage and dead-letters the rest with the issue's path", async () => {
    const topic = unique("t");
    const dlq = deadLetters(topic);
    const got: unknown[] = [];
    const koper = new Koper().register(listen({ topic, schema: phoneSchema(), onMessage: (p) => void got.push(p) }), dlq.listener);
    await koper.start();
    await koper.sender.send(topic, { phone: "13800000000", extra: true });
    await koper.sender.send(topic, { phone: "nope" });
    await koper.stop();
    expect(got).toEqual([{ phone: "13800000000" }]);
    expect(dlq.received.map((d) => d.meta.headers[Headers.dlqReason])).toEqual([
      expect.stringMatching(/^invalid_payload: .*phone: expected 11 digits/),
    ]);
  });

  it("dead-letters with a clear reason when the schema validates asynchronously", async () => {
    const topic = unique("t");
    const dlq = deadLetters(topic);
    const got: unknown[] = [];
    const koper = new Koper().register(listen({ topic, schema: phoneSchema(true), onMessage: (p) => void got.push(p) }), dlq.listener);
    await koper.start();
    await koper.sender.send(topic, { phone: "13800000000" });
    await koper.stop();
    expect(got).toEqual([]);
    expect(dlq.received[0]!.meta.headers[Headers.dlqReason]).toMatch(/^invalid_payload: .*asynchronously/);
  });
});
