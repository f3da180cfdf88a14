import { describe, expect, it } from "vitest";
import { InProcessTransport, PublishError, type DeliveredMessage } from "@koper/core";
import { deferred, until } from "./support.ts";

const message = (topic: string, i: number, key: string | null = null) => ({
  topic,
  key,
  value: Buffer.from(String(i)),
  headers: {},
});

describe("InProcessTransport", () => {
  it("makes send wait while a consuming group is `capacity` behind, and drops nothing", async () => {
    const transport = new InProcessTransport({ capacity: 5 });
    const gate = deferred();
    const got: string[] = [];
    await transport.subscribe({
      group: "g",
      topics: ["t"],
      maxInFlight: 1,
      handle: async (m) => {
        await gate.promise;
        got.push(Buffer.from(m.value).toString());
      },
    });
    // One message is in flight, five wait: the group is now `capacity` behind.
    for (let i = 0; i < 6; i++) await transport.send([message("t", i)]);
    let sent = false;
    const blocked = transport.send([message("t", 6)]).then(() => (sent = true));
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(false);
    expect(transport.lag("t", "g")).toBe(5);
    gate.resolve();
    await blocked;
    await transport.drain();
    expect(got).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
  });

  it("keeps messages for a group that subscribes later, and gives every group all of them", async () => {
    const transport = new InProcessTransport();
    await transport.send([message("t", 1), message("t", 2)]);
    const a: string[] = [];
    const b: string[] = [];
    const sub = (group: string, into: string[]) =>
      transport.subscribe({ group, topics: ["t"], maxInFlight: 4, handle: async (m) => void into.push(Buffer.from(m.value).toString()) });
    await sub("a", a);
    await sub("b", b);
    await transport.send([message("t", 3)]);
    await transport.drain();
    expect(a).toEqual(["1", "2", "3"]);
    expect(b).toEqual(["1", "2", "3"]);
  });

  it("keeps nothing for later groups once told none will come, and still owes the consuming groups theirs", async () => {
    const transport = new InProcessTransport();
    const gate = deferred();
    const slow: string[] = [];
    const slowGroup = await transport.subscribe({ group: "slow", topics: ["t"], maxInFlight: 1, handle: async (m) => void (await gate.promise, slow.push(Buffer.from(m.value).toString())) });
    await transport.send([message("t", 1), message("t", 2), message("t", 3)]);
    await transport.send([message("unread", 1), message("unread", 2)]);
    // Sent before the call: released at once for a topic nobody consumes.
    transport.noLaterGroups();
    await transport.send([message("unread", 3)]);
    const late: string[] = [];
    await transport.subscribe({ group: "late", topics: ["unread"], maxInFlight: 8, handle: async (m) => void late.push(`unread:${Buffer.from(m.value).toString()}`) });
    await transport.send([message("unread", 4)]);
    // The consuming group's backlog is not what a later group would have got: it stays, and is owed once it closes.
    const closing = slowGroup.close();
    expect(transport.unfinished().map((m) => Buffer.from(m.value).toString())).toEqual(["2", "3"]);
    gate.resolve();
    await closing;
    await transport.drain();
    expect(transport.unfinished().map((m) => Buffer.from(m.value).toString())).toEqual(["2", "3"]);
    expect(late).toEqual(["unread:4"]);
    expect(slow).toEqual(["1"]);
  });

  it("numbers offsets per topic and keeps them across the trimming of consumed messages", async () => {
    const transport = new InProcessTransport({ retention: 10 });
    const offsets: string[] = [];
    await transport.subscribe({ group: "g", topics: ["t"], maxInFlight: 8, handle: async (m) => void offsets.push(m.offset) });
    for (let i = 0; i < 3000; i++) await transport.send([message("t", i)]);
    await transport.drain();
    expect(offsets).toHaveLength(3000);
    expect(offsets.at(-1)).toBe("2999");
    expect(new Set(offsets).size).toBe(3000);
  });

  it("finishes in-flight messages on close and delivers the rest to the group's next member", async () => {
    const transport = new InProcessTransport();
    const gate = deferred();
    const first: DeliveredMessage[] = [];
    const handle = await transport.subscribe({
      group: "g",
      topics: ["t"],
      maxInFlight: 1,
      handle: async (m) => {
        first.push(m);
        await gate.promise;
      },
    });
    await transport.send([message("t", 0), message("t", 1), message("t", 2)]);
    let closed = false;
    const closing = handle.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    expect(first.map((m) => m.offset)).toEqual(["0"]);
    const second: string[] = [];
    await transport.subscribe({ group: "g", topics: ["t"], maxInFlight: 1, handle: async (m) => void second.push(m.offset) });
    await until(() => second.length === 2, "the rest");
    expect(second).toEqual(["1", "2"]);
  });

  it("rejects sends after close, waking senders that waited for room", async () => {
    const transport = new InProcessTransport({ capacity: 1 });
    await transport.subscribe({ group: "g", topics: ["t"], maxInFlight: 1, handle: () => new Promise(() => {}) });
    await transport.send([message("t", 0), message("t", 1)]);
    const waiting = transport.send([message("t", 2)]);
    await transport.close();
    await expect(waiting).rejects.toBeInstanceOf(PublishError);
    await expect(transport.send([message("t", 3)])).rejects.toMatchObject({ code: "stopped" });
  });

  it("drain() waits only for what was accepted before the call, however much keeps arriving", async () => {
    const transport = new InProcessTransport();
    const got: number[] = [];
    await transport.subscribe({
      group: "g",
      topics: ["t"],
      maxInFlight: 1,
      handle: async (m) => {
        await new Promise((r) => setImmediate(r));
        got.push(Number(Buffer.from(m.value).toString()));
      },
    });
    await transport.send([0, 1, 2, 3, 4].map((i) => message("t", i)));
    let next = 5;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await transport.send([message("t", next++)]);
        await new Promise((r) => setImmediate(r));
      }
    })();
    await transport.drain();
    expect(got.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    writing = false;
    await writer;
    await transport.drain();
    expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it("lists what a consuming group was never handed, and hands out nothing once closed", async () => {
    const transport = new InProcessTransport();
    const gate = deferred();
    const handled: string[] = [];
    await transport.subscribe({
      group: "g",
      topics: ["t"],
      maxInFlight: 1,
      handle: async (m) => {
        await gate.promise;
        handled.push(Buffer.from(m.value).toString());
      },
    });
    await transport.send([0, 1, 2].map((i) => ({ ...message("t", i), headers: { "koper-id": `id-${i}` } })));
    await transport.send([message("nobody-reads", 9)]);
    expect(transport.unfinished().map((m) => m.headers["koper-id"])).toEqual(["id-1", "id-2"]); // id-0 is in a handler
    await transport.close();
    gate.resolve();
    await until(() => handled.length === 1, "the in-flight message");
    await new Promise((r) => setImmediate(r));
    expect(handled).toEqual(["0"]);
  });
});
