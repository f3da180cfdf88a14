// The relay read outbox rows with JSON.parse, so a row's tagged values (Date, bigint, Buffer…) left
// it as their tags ({ $koper: "Date", v }) and reached listeners as plain objects.
import { dataListener, decode, encode, ensureOutboxTable, Koper, sqlClientFrom, type DataEvent } from "@koper/core";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";

// A row as Koper before envelope v2 wrote it (committed text: rows written by an old version must still relay).
const V1_ROW =
  '{"specVersion":1,"id":"01a232e7-a8f7-70a3-a8b6-327e7b201478","entity":"Order","action":"insert","outcome":"committed",' +
  '"key":{"id":7},"data":{"id":7,"placedAt":{"$koper":"Date","v":1796150372599},"total":{"$koper":"BigInt","v":"12345678901234567890"},' +
  '"blob":{"$koper":"Buffer","v":"AQID"},"note":{"$koper":"undefined"}},"source":{"orm":"typeorm","table":"orders"},' +
  '"transaction":{"id":"01a232e7-a8f7-70a3-a8b6-327e7b201478","position":0},"context":{},' +
  '"trace":{"traceparent":"00-c6d4eae39caafb596bbdda194b70d2a4-1eeb8fe3b3a89078-01"},"time":{"occurred":1796150372599.695,"committed":1796150372599.79}}';

// A relay on an SQLite outbox holding one row with `payload`, and what its one data listener got.
async function relayed(payload: string): Promise<DataEvent> {
  const client = sqlClientFrom(new DatabaseSync(":memory:"));
  await ensureOutboxTable(client);
  await client.query(
    "INSERT INTO koper_outbox (event_id, entity, routing_key, bucket, topic, payload, created_at, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
    ["01a232e7-a8f7-70a3-a8b6-327e7b201478", "Order", "Order:7", 0, "koper.Order", payload, Date.now()],
  );
  const koper = new Koper({ outbox: { client, pollIntervalMs: 10 } });
  const handled: DataEvent[] = [];
  koper.register(dataListener()({ entity: "Order", onInsertOrder: (_row, event) => void handled.push(event) }));
  await koper.start();
  try {
    for (let i = 0; i < 200 && handled.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await koper.settle();
  } finally {
    await koper.stop();
  }
  expect(handled).toHaveLength(1);
  return handled[0]!;
}

describe("outbox rows keep their values through the relay", () => {
  it("a row written by an old version relays with its Date, bigint, Buffer and undefined as values", async () => {
    const event = await relayed(V1_ROW);
    expect(event.data!.placedAt).toEqual(new Date(1796150372599));
    expect(event.data!.total).toBe(12345678901234567890n);
    expect(Buffer.isBuffer(event.data!.blob)).toBe(true);
    expect("note" in event.data! && event.data!.note === undefined).toBe(true);
    const { time: _time, ...rest } = event;
    const { time: _written, ...written } = decode(Buffer.from(V1_ROW)) as DataEvent;
    expect(rest).toStrictEqual(written);
  });

  it("a row written now relays as the event that was written", async () => {
    const written = decode(Buffer.from(V1_ROW)) as DataEvent;
    const { time: _time, ...rest } = await relayed(new TextDecoder().decode(encode(written)));
    const { time: _written, ...expected } = written;
    expect(rest).toStrictEqual(expected);
  });
});
