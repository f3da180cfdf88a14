import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRecordBatch, ErrorCode, startBroker, type Broker } from "@koper/kafka-broker";
import { Writer } from "../src/protocol/Writer.ts";
import { kafkaFor, producerFor, uniqueName, until } from "./helpers.ts";
import { frame, request, sendAndHold, sendUntilClosed } from "./raw-client.ts";

let broker: Broker;
const diagnostics: string[] = [];
beforeAll(async () => {
  broker = await startBroker({ port: 0, maxRequestBytes: 1024 * 1024, log: (line) => diagnostics.push(line) });
});
afterAll(async () => {
  await broker.stop();
});

function produceBody(topic: string, records: Buffer): Buffer {
  const w = new Writer().nullableString(null).int16(-1).int32(1000);
  w.array([topic], (tw, name) => tw.string(name).array([records], (pw, r) => pw.int32(0).bytes(r)));
  return Buffer.from(w.toBuffer());
}

async function kafkajsStillWorks(): Promise<void> {
  const topic = uniqueName("after-garbage");
  const kafka = kafkaFor(broker.brokers);
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic, messages: [{ key: "still", value: "works" }] });
  await producer.disconnect();
  expect(broker.records(topic).map((r) => r.value?.toString())).toEqual(["works"]);
}

describe("malformed and unsupported requests", () => {
  it("answers ApiVersions v0–2 in their layouts and v3 with UNSUPPORTED_VERSION in the v0 layout", async () => {
    for (const version of [0, 1, 2]) {
      const { correlationId, body } = await request(broker.port, frame(18, version));
      expect(correlationId).toBe(42);
      expect(body.int16()).toBe(ErrorCode.NONE);
      const keys = body.array((r) => [r.int16(), r.int16(), r.int16()]);
      expect(keys).toContainEqual([1, 4, 11]);
      if (version >= 1) expect(body.int32()).toBe(0);
      expect(body.remaining).toBe(0);
    }
    // librdkafka's opening request: flexible header and body, which the broker does not parse.
    const flexible = Buffer.concat([frame(18, 3).subarray(0, 4), Buffer.from([0, 18, 0, 3, 0, 0, 0, 7, 0, 3, 0x6b, 0x63, 0x74, 0, 4, 0x6b, 0x63, 0x74, 4, 0x31, 0x2e, 0x37, 0])]);
    flexible.writeInt32BE(flexible.length - 4, 0);
    const { body } = await request(broker.port, flexible);
    expect(body.int16()).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.array((r) => [r.int16(), r.int16(), r.int16()]).length).toBeGreaterThan(10);
    expect(body.remaining).toBe(0);
  });

  it("closes the connection on garbage, unknown keys, unsupported versions, truncated bodies and absurd lengths", async () => {
    const cases: Record<string, Buffer> = {
      garbage: Buffer.from("GET / HTTP/1.1\r\nHost: kafka\r\n\r\n"),
      "unknown api key": frame(999, 0),
      "unsupported version": frame(3, 42),
      "too-old produce": frame(0, 1),
      "truncated body": frame(3, 1, Buffer.from([0, 0, 0, 5, 0, 3])), // 5 topics announced, 1 partial
      "huge length": Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]),
      "negative length": Buffer.from([0xff, 0xff, 0xff, 0xfe]),
      "header shorter than announced": Buffer.from([0, 0, 0, 9, 0, 3, 0, 1, 0, 0, 0, 1, 0x7f]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const reply = await sendUntilClosed(broker.port, bytes);
      expect(reply.length, name).toBe(0);
    }
    expect(diagnostics.length).toBeGreaterThanOrEqual(Object.keys(cases).length);
    await kafkajsStillWorks();
  });

  it("keeps serving while another connection holds a half-sent frame", async () => {
    const half = await sendAndHold(broker.port, frame(3, 1, Buffer.from([0xff, 0xff, 0xff, 0xff])).subarray(0, 9));
    await kafkajsStillWorks();
    half.destroy();
  });

  it("rejects a batch with a bad CRC with CORRUPT_MESSAGE and keeps the log unchanged", async () => {
    const topic = uniqueName("bad-crc");
    broker.createTopic(topic, 1);
    const batch = encodeRecordBatch([{ key: null, value: Buffer.from("payload") }]);
    batch[batch.length - 1] ^= 0x01;
    const { body } = await request(broker.port, frame(0, 3, produceBody(topic, batch)));
    const topics = body.array((tr) => ({ name: tr.string(), partitions: tr.array((pr) => ({ index: pr.int32(), error: pr.int16(), base: pr.int64(), time: pr.int64() })) }));
    expect(topics[0]!.partitions[0]).toMatchObject({ index: 0, error: ErrorCode.CORRUPT_MESSAGE, base: -1 });
    expect(broker.offsets(topic)[0]!.highWatermark).toBe(0);
  });

  it("does not answer acks=0 produce requests but stores the batch", async () => {
    const topic = uniqueName("acks0");
    broker.createTopic(topic, 1);
    const w = new Writer().nullableString(null).int16(0).int32(1000);
    w.array([topic], (tw, name) => tw.string(name).array([encodeRecordBatch([{ key: null, value: Buffer.from("fire") }])], (pw, r) => pw.int32(0).bytes(r)));
    const socket = await sendAndHold(broker.port, frame(0, 3, Buffer.from(w.toBuffer())));
    await until(() => broker.offsets(topic)[0]!.highWatermark === 1, "the acks=0 batch");
    socket.destroy();
  });
});
