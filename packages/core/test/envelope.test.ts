import { describe, expect, it } from "vitest";
import { ChangeCapture, ConfigError, DataEvent, newId, topicResolver, validateTopic, type CaptureSink } from "@koper/core";

function sampleEvent(): DataEvent {
  const events: DataEvent[] = [];
  const sink: CaptureSink = { publish: async (e) => void events.push(...e), dropped: () => {} };
  void new ChangeCapture(sink, { service: "shop" }).record(undefined, {
    entity: "Order",
    action: "update",
    key: { id: 1 },
    data: { id: 1, qty: 2 },
    before: { id: 1, qty: 1 },
    changes: ["qty"],
    source: { orm: "test", table: "orders" },
  });
  return events[0]!;
}

describe("DataEvent envelope", () => {
  it("validates an event the capture built, with every field DESIGN.md names", () => {
    const event = sampleEvent();
    expect(DataEvent.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      specVersion: 1,
      entity: "Order",
      action: "update",
      outcome: "committed",
      key: { id: 1 },
      changes: ["qty"],
      source: { orm: "test", table: "orders", service: "shop" },
      transaction: { position: 0 },
    });
    expect(event.trace?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(event.time.committed).toBeGreaterThanOrEqual(event.time.occurred);
  });

  it("names the problem when a field is missing or wrong", () => {
    const { id: _id, ...noId } = sampleEvent();
    const result = DataEvent.safeParse({ ...noId, action: "upsert" });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["id", "action"]));
  });

  it("rejects another spec version", () => {
    expect(DataEvent.safeParse({ ...sampleEvent(), specVersion: 2 }).success).toBe(false);
  });

  it("makes ids that are UUIDv7, unique, and sort by creation", () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe("topic names", () => {
  it("accepts Kafka's legal names", () => {
    expect(validateTopic("koper.Order_v2-x")).toBe("koper.Order_v2-x");
    expect(validateTopic("a".repeat(249))).toHaveLength(249);
  });

  it.each([
    ["", "empty"],
    ["a".repeat(250), "250 characters"],
    ["..", "reserved"],
    ["orders/eu", "outside"],
    ["koper.Ordér", "outside"],
  ])("refuses %j with a ConfigError that says why", (topic, why) => {
    expect(() => validateTopic(topic)).toThrow(ConfigError);
    expect(() => validateTopic(topic)).toThrow(why);
  });

  it("maps entities to <prefix>.<Entity>, or to an explicit topic", () => {
    const topicFor = topicResolver({ prefix: "shop", byEntity: { Customer: "crm.customers" } });
    expect(topicFor("Order")).toBe("shop.Order");
    expect(topicFor("Customer")).toBe("crm.customers");
    expect(() => topicResolver({ byEntity: { Bad: "no spaces" } })).toThrow(ConfigError);
  });
});
