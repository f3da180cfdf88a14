import { describe, expect, it } from "vitest";
import { encodeRecordBatch, ErrorCode } from "@koper/kafka-broker";
import { Group } from "../src/state/Group.ts";
import type { JoinRequest } from "../src/state/group-types.ts";
import { Partition } from "../src/state/Partition.ts";

function batch(value: string, producer?: { id: number; sequence: number }): Buffer {
  const bytes = encodeRecordBatch([{ key: null, value: Buffer.from(value) }]);
  if (producer) {
    bytes.writeBigInt64BE(BigInt(producer.id), 43);
    bytes.writeInt32BE(producer.sequence, 53);
  }
  return bytes;
}

describe("Partition", () => {
  it("assigns offsets, reads from the batch holding an offset and reports end of log", () => {
    const p = new Partition(0, 1 << 20, false);
    expect(p.append(batch("a")).baseOffset).toBe(0);
    expect(p.append(batch("b")).baseOffset).toBe(1);
    expect(p.highWatermark).toBe(2);
    expect(p.read(1, 1 << 20)).toHaveLength(1);
    expect(p.read(0, 1)).toHaveLength(1); // at least one whole batch even over the limit
    expect(p.read(2, 1 << 20)).toEqual([]);
    expect(p.inRange(2)).toBe(true);
    expect(p.inRange(3)).toBe(false);
  });

  it("drops the oldest segments beyond its memory budget and moves the log start offset", () => {
    const p = new Partition(0, 16 * 1024, false);
    for (let i = 0; i < 2_000; i++) p.append(batch(`${i}`));
    expect(p.sizeBytes).toBeLessThanOrEqual(16 * 1024);
    expect(p.logStartOffset).toBeGreaterThan(0);
    expect(p.batchCount).toBe(2_000 - p.logStartOffset);
    expect(p.inRange(p.logStartOffset - 1)).toBe(false);
    expect(p.inRange(p.logStartOffset)).toBe(true);
    expect(Number(p.read(p.logStartOffset, 1)[0]!.readBigInt64BE(0))).toBe(p.logStartOffset);
  });

  it("returns the first placement of a retried idempotent batch instead of appending it twice", () => {
    const p = new Partition(0, 1 << 20, false);
    p.append(batch("a", { id: 7, sequence: 0 }));
    p.append(batch("b", { id: 7, sequence: 1 }));
    expect(p.append(batch("a", { id: 7, sequence: 0 })).baseOffset).toBe(0);
    expect(p.highWatermark).toBe(2);
  });

  it("moves the log start for DeleteRecords, dropping whole segments below it but never the newest, and never backwards", () => {
    const p = new Partition(0, 16 * 1024, false); // segments of 2 KiB
    for (let i = 0; i < 400; i++) p.append(batch(`${i}`));
    const segments = p.heldSegments.length;
    const second = p.heldSegments[1]!.baseOffset;
    expect(p.deleteRecordsBefore(second + 1)).toBe(second + 1);
    expect(p.heldSegments).toHaveLength(segments - 1); // the first segment is wholly below the start
    expect(p.inRange(second)).toBe(false);
    expect(p.deleteRecordsBefore(5)).toBe(second + 1);
    expect(p.deleteRecordsBefore(10_000)).toBe(400); // clamped to the high watermark
    expect(p.heldSegments).toHaveLength(1);
    expect(p.highWatermark).toBe(400);
    expect(p.read(400, 1 << 20)).toEqual([]);
    expect(p.append(batch("next")).baseOffset).toBe(400);
  });

  it("answers a timestamp lookup with the first record not deleted when DeleteRecords cut into a batch", () => {
    const p = new Partition(0, 1 << 20, false);
    const t0 = 1_000_000;
    p.append(encodeRecordBatch([0, 1, 2, 3].map((i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: t0 + i }))));
    expect(p.offsetForTimestamp(t0)).toEqual({ offset: 0, timestamp: t0 });
    p.deleteRecordsBefore(2);
    expect(p.offsetForTimestamp(t0)).toEqual({ offset: 2, timestamp: t0 + 2 });
    expect(p.offsetForTimestamp(t0 + 3)).toEqual({ offset: 3, timestamp: t0 + 3 });
    expect(p.offsetForTimestamp(t0 + 4)).toEqual({ offset: -1, timestamp: -1 });
  });

  it("wakes registered waiters on append", () => {
    const p = new Partition(0, 1 << 20, false);
    let woken = 0;
    const off = p.onAppend(() => woken++);
    p.append(batch("a"));
    off();
    p.append(batch("b"));
    expect(woken).toBe(1);
  });
});

describe("Group", () => {
  const protocols = [{ name: "range", metadata: Buffer.from("m") }];
  const join = (memberId: string, extra: Partial<JoinRequest> = {}): JoinRequest => ({
    memberId,
    groupInstanceId: null,
    clientId: "c",
    sessionTimeoutMs: 1000,
    rebalanceTimeoutMs: 1000,
    protocolType: "consumer",
    protocols,
    requireKnownMemberId: true,
    ...extra,
  });

  it("requires a member id on v4+, then runs join, sync and heartbeat", async () => {
    const g = new Group("g");
    const first = await g.join(join(""), 0);
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const joined = await g.join(join(first.memberId), 0);
    expect(joined).toMatchObject({ errorCode: 0, generationId: 1, leaderId: first.memberId, protocolName: "range" });
    expect(joined.members).toHaveLength(1);
    const synced = await g.sync(1, first.memberId, new Map([[first.memberId, Buffer.from("assign")]]), 0);
    expect(synced.assignment.toString()).toBe("assign");
    expect(g.heartbeat(1, first.memberId, 0)).toBe(ErrorCode.NONE);
    expect(g.heartbeat(0, first.memberId, 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(g.heartbeat(1, "nobody", 0)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it("rebalances when a second member joins and evicts a member whose session expired", async () => {
    const g = new Group("g");
    const a = await g.join(join("", { requireKnownMemberId: false }), 0);
    await g.sync(a.generationId, a.memberId, new Map(), 0);
    const bJoin = g.join(join("", { requireKnownMemberId: false }), 0);
    expect(g.heartbeat(1, a.memberId, 10)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const aRejoin = await g.join(join(a.memberId), 10);
    const b = await bJoin;
    expect([aRejoin.generationId, b.generationId]).toEqual([2, 2]);
    expect(aRejoin.members).toHaveLength(2); // a stays leader
    expect(b.members).toHaveLength(0);
    await Promise.all([g.sync(2, a.memberId, new Map(), 10), g.sync(2, b.memberId, new Map(), 10)]);
    expect(g.phase).toBe("Stable");
    g.heartbeat(2, b.memberId, 900);
    g.tick(1500); // a has been silent since 10 ms: evicted
    expect([...g.members.keys()]).toEqual([b.memberId]);
    expect(g.heartbeat(2, b.memberId, 1500)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect((await g.join(join(b.memberId), 1500)).generationId).toBe(3);
  });

  it("rejects commits from unknown members or old generations and accepts simple commits on empty groups", async () => {
    const g = new Group("g");
    expect(g.checkCommit(-1, "", 0)).toBe(ErrorCode.NONE);
    const a = await g.join(join("", { requireKnownMemberId: false }), 0);
    expect(g.checkCommit(a.generationId, a.memberId, 0)).toBe(ErrorCode.REBALANCE_IN_PROGRESS); // awaiting sync
    await g.sync(a.generationId, a.memberId, new Map(), 0);
    expect(g.checkCommit(a.generationId, a.memberId, 0)).toBe(ErrorCode.NONE);
    expect(g.checkCommit(a.generationId - 1, a.memberId, 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(g.checkCommit(a.generationId, "ghost", 0)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(g.leave(a.memberId, 0)).toBe(ErrorCode.NONE);
    expect(g.phase).toBe("Empty");
  });

  it("keeps members and generation across a broker stop, giving each a full session to come back", async () => {
    const g = new Group("g");
    const a = await g.join(join("", { requireKnownMemberId: false }), 0);
    await g.sync(a.generationId, a.memberId, new Map([[a.memberId, Buffer.from("p0")]]), 0);
    g.shutdown();
    g.resume(5_000); // restarted long after the member's last heartbeat
    g.tick(5_500);
    expect(g.checkCommit(a.generationId, a.memberId, 5_500)).toBe(ErrorCode.NONE);
    expect(g.heartbeat(a.generationId, a.memberId, 5_600)).toBe(ErrorCode.NONE);
    expect((await g.sync(a.generationId, a.memberId, new Map(), 5_600)).assignment.toString()).toBe("p0");
    g.tick(7_000); // silent for a whole session after the restart: evicted as usual
    expect(g.members.size).toBe(0);
  });

  it("refuses members whose protocols share nothing with the group", async () => {
    const g = new Group("g");
    await g.join(join("", { requireKnownMemberId: false }), 0);
    const other = await g.join(join("", { requireKnownMemberId: false, protocols: [{ name: "roundrobin", metadata: Buffer.alloc(0) }] }), 0);
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });
});
