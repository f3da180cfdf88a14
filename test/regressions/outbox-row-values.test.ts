// The relay read outbox rows with JSON.parse, so a row's tagged values (Date, bigint, Buffer…) left
// it as their tags ({ $koper: "Date", v }) and reached listeners as plain objects.
import { decode, encode, OutboxRelay, type DataEvent, type OutboxStore, type PendingRow } from "@koper/core";
import { describe, expect, it } from "vitest";

// A row as Koper before envelope v2 wrote it (committed text: rows written by an old version must still relay).
const V1_ROW =
  '{"specVersion":1,"id":"01a232e7-a8f7-70a3-a8b6-327e7b201478","entity":"Order","action":"insert","outcome":"committed",' +
  '"key":{"id":7},"data":{"id":7,"placedAt":{"$koper":"Date","v":1796150372599},"total":{"$koper":"BigInt","v":"12345678901234567890"},' +
  '"blob":{"$koper":"Buffer","v":"AQID"},"note":{"$koper":"undefined"}},"source":{"orm":"typeorm","table":"orders"},' +
  '"transaction":{"id":"01a232e7-a8f7-70a3-a8b6-327e7b201478","position":0},"context":{},' +
  '"trace":{"traceparent":"00-c6d4eae39caafb596bbdda194b70d2a4-1eeb8fe3b3a89078-01"},"time":{"occurred":1796150372599.695,"committed":1796150372599.79}}';

function oneRowStore(payload: string): OutboxStore {
  const rows: PendingRow[] = [{ id: 1, topic: "koper.Order", payload }];
  return {
    dialect: "sqlite",
    insert: async () => {},
    async claim(limit, fn) {
      const batch = rows.splice(0, limit);
      return batch.length === 0 ? 0 : (await fn(batch)).length;
    },
    expire: async () => {},
  };
}

async function relayed(payload: string): Promise<DataEvent> {
  const events: DataEvent[] = [];
  await new OutboxRelay(oneRowStore(payload), async (items) => void events.push(...items.map((i) => i.event))).drain();
  return events[0]!;
}

describe("outbox rows keep their values through the relay", () => {
  it("a row written by an old version relays with its Date, bigint, Buffer and undefined as values", async () => {
    const event = await relayed(V1_ROW);
    expect(event.data!.placedAt).toEqual(new Date(1796150372599));
    expect(event.data!.total).toBe(12345678901234567890n);
    expect(Buffer.isBuffer(event.data!.blob)).toBe(true);
    expect("note" in event.data! && event.data!.note === undefined).toBe(true);
    expect(event).toStrictEqual(decode(Buffer.from(V1_ROW)));
  });

  it("a row written now relays as the event that was written", async () => {
    const written = decode(Buffer.from(V1_ROW)) as DataEvent;
    expect(await relayed(new TextDecoder().decode(encode(written)))).toStrictEqual(written);
  });
});
