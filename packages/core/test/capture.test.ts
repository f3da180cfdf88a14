import { describe, expect, it } from "vitest";
import {
  CaptureError,
  ChangeCapture,
  MASK,
  runWithContext,
  type BuildOptions,
  type CaptureSink,
  type ChangeDraft,
  type DataEvent,
} from "@koper/core";

// A fake of Koper's own CaptureSink interface: records what the capture hands over.
function harness(options: BuildOptions = {}) {
  const published: DataEvent[][] = [];
  const dropped: DataEvent[][] = [];
  const sink: CaptureSink = {
    publish: async (events) => void published.push(events),
    dropped: (events) => void dropped.push(events),
  };
  return { capture: new ChangeCapture(sink, options), published, dropped };
}

const draft = (id: number, extra: Partial<ChangeDraft> = {}): ChangeDraft => ({
  entity: "Order",
  action: "insert",
  key: { id },
  data: { id, qty: id },
  source: { orm: "test" },
  ...extra,
});

const ids = (events: DataEvent[] | undefined) => (events ?? []).map((e) => e.key?.id);

describe("ChangeCapture transactions", () => {
  it("a transaction's id is its first committed event's: a write in a rolled-back savepoint does not count", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.rollback(tx);
    await capture.record(tx, draft(2));
    await capture.record(tx, draft(3));
    await capture.commit(tx);
    const [events] = published as [DataEvent[]];
    expect(events.map((e) => e.transaction)).toEqual([{ id: events[0]!.id, position: 0 }, { id: events[0]!.id, position: 1 }]);
  });

  it("a failure event inside an open transaction stands alone: its own id, position 0", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    await capture.fail(tx, draft(2), new Error("duplicate"));
    await capture.record(tx, draft(3));
    await capture.commit(tx);
    const [[failure], committed] = published as [[DataEvent], DataEvent[]];
    expect(failure.transaction).toEqual({ id: failure.id, position: 0 });
    expect(committed.map((e) => e.transaction)).toEqual([{ id: committed[0]!.id, position: 0 }, { id: committed[0]!.id, position: 1 }]);
  });

  it("publishes nothing before the outermost commit, then every event once in one batch, positions in order", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    await capture.record(tx, draft(2));
    expect(published).toHaveLength(0);
    await capture.commit(tx);
    expect(published).toHaveLength(1);
    expect(ids(published[0])).toEqual([1, 2]);
    const [a, b] = published[0]!;
    expect(a!.transaction.id).toBe(b!.transaction.id);
    expect(a!.transaction.id).toBe(a!.id);
    expect([a!.transaction.position, b!.transaction.position]).toEqual([0, 1]);
    expect(a!.time.committed).toBeDefined();
    expect(capture.depth(tx)).toBe(0);
  });

  it("drops everything on rollback", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.rollback(tx);
    expect(published).toHaveLength(0);
    expect(capture.depth(tx)).toBe(0);
  });

  it("drops only the rolled-back savepoint's events, and renumbers positions without gaps", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.begin(tx); // savepoint A, rolled back
    await capture.record(tx, draft(2));
    capture.rollback(tx);
    capture.begin(tx); // savepoint B, released
    await capture.record(tx, draft(3));
    capture.begin(tx); // nested savepoint C inside B, released
    await capture.record(tx, draft(4));
    await capture.commit(tx);
    await capture.commit(tx);
    expect(published).toHaveLength(0);
    await capture.commit(tx);
    expect(ids(published[0])).toEqual([1, 3, 4]);
    expect(published[0]!.map((e) => e.transaction.position)).toEqual([0, 1, 2]);
  });

  it("drops a poisoned transaction at commit (PostgreSQL turns that COMMIT into ROLLBACK) and says so", async () => {
    const { capture, published, dropped } = harness();
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.poison(tx);
    expect(capture.isPoisoned(tx)).toBe(true);
    await capture.commit(tx);
    expect(published).toHaveLength(0);
    expect(ids(dropped[0])).toEqual([1]);
  });

  it("forgets the poison of a savepoint that was rolled back", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.begin(tx);
    capture.poison(tx);
    capture.rollback(tx);
    await capture.commit(tx);
    expect(ids(published[0])).toEqual([1]);
  });

  it("carries the poison of a released savepoint up to its parent", async () => {
    const { capture, published, dropped } = harness();
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.begin(tx);
    capture.poison(tx);
    await capture.commit(tx);
    await capture.commit(tx);
    expect(published).toHaveLength(0);
    expect(dropped).toHaveLength(1);
  });

  // MikroORM gives each savepoint, and each flush inside a transaction, a transaction object of its own.
  it("a savepoint with its own handle (begin(sp, { parent })) publishes at the outermost commit, not at its own", async () => {
    const { capture, published } = harness();
    const tx = {};
    const sp = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.begin(sp, { parent: tx });
    expect(capture.depth(sp)).toBe(2);
    await capture.record(sp, draft(2));
    await capture.commit(sp); // RELEASE SAVEPOINT
    expect(published).toHaveLength(0);
    expect(capture.depth(sp)).toBe(0);
    expect(capture.depth(tx)).toBe(1);
    await capture.record(tx, draft(3));
    await capture.commit(tx);
    expect(published.map(ids)).toEqual([[1, 2, 3]]);
    expect(new Set(published[0]!.map((e) => e.transaction.id)).size).toBe(1);
    expect(published[0]!.map((e) => e.transaction.position)).toEqual([0, 1, 2]);
  });

  it("rolling back a savepoint handle drops only its events (and those of savepoints inside it)", async () => {
    const { capture, published } = harness();
    const [tx, a, inner, b] = [{}, {}, {}, {}];
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.begin(a, { parent: tx });
    await capture.record(a, draft(2));
    capture.begin(inner, { parent: a });
    await capture.record(inner, draft(3));
    capture.rollback(a); // rolls back `inner` with it
    expect(capture.depth(inner)).toBe(0);
    capture.begin(b, { parent: tx }); // a sibling: a new object, possibly the same savepoint name
    await capture.record(b, draft(4));
    await capture.commit(b);
    await capture.commit(tx);
    expect(published.map(ids)).toEqual([[1, 4]]);
  });

  it("a savepoint never ended (MariaDB fires no event on RELEASE SAVEPOINT) merges into the outer commit", async () => {
    const { capture, published, dropped } = harness();
    const [tx, sp] = [{}, {}];
    capture.begin(tx);
    capture.begin(sp, { parent: tx });
    await capture.record(sp, draft(1));
    capture.poison(sp);
    await capture.commit(tx);
    expect(capture.depth(sp)).toBe(0);
    expect(published).toHaveLength(0);
    expect(dropped.map(ids)).toEqual([[1]]); // its poison went up with it
  });

  it("a parent that is not open (its start was never seen) leaves the handle a transaction of its own", async () => {
    const { capture, published } = harness();
    const sp = {};
    capture.begin(sp, { parent: {} });
    await capture.record(sp, draft(1));
    await capture.commit(sp);
    expect(published.map(ids)).toEqual([[1]]);
  });

  it("publishes at once outside a transaction (autocommit)", async () => {
    const { capture, published } = harness();
    await capture.record(undefined, draft(7));
    await capture.record({}, draft(8)); // a handle that was never begun is autocommit too
    expect(published.map(ids)).toEqual([[7], [8]]);
    expect(published[0]![0]!.transaction).toEqual({ id: published[0]![0]!.id, position: 0 });
    expect(published[0]![0]!.time.committed).toBe(published[0]![0]!.time.occurred);
  });

  it("publishes a failure event at once, even inside a transaction later rolled back", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    const error = Object.assign(new Error('duplicate key value violates unique constraint "orders_number_key"'), {
      code: "23505",
    });
    await capture.fail(tx, draft(1), error, { code: "23505", constraint: "orders_number_key", table: "orders" });
    capture.rollback(tx);
    expect(published).toHaveLength(1);
    const event = published[0]![0]!;
    expect(event.outcome).toBe("failed");
    expect(event.error).toEqual({
      code: "unique_violation",
      name: "Error",
      message: error.message,
      original: { code: "23505", constraint: "orders_number_key", table: "orders" },
    });
    expect(event.data).toEqual({ id: 1, qty: 1 });
  });

  it("normalizes the codes of each database to one failure code", async () => {
    const { capture, published } = harness();
    const cases: [object, string][] = [
      [{ code: "23503" }, "foreign_key_violation"],
      [{ code: "ER_DUP_ENTRY", errno: 1062 }, "unique_violation"],
      [{ code: "ER_BAD_NULL_ERROR", errno: 1048 }, "not_null_violation"],
      [{ code: "SQLITE_CONSTRAINT_CHECK" }, "check_violation"],
      [{ code_hint: "not_found" }, "not_found"],
      [{}, "unknown"],
    ];
    for (const [info] of cases) await capture.fail(undefined, draft(1), new Error("x"), info);
    await capture.fail(undefined, draft(1), new Error("NOT NULL constraint failed: orders.qty"));
    expect(published.map((batch) => batch[0]!.error!.code)).toEqual([...cases.map(([, code]) => code), "not_null_violation"]);
  });

  it("refuses a commit the adapter never began, with a typed error", async () => {
    const { capture } = harness();
    await expect(capture.commit({})).rejects.toBeInstanceOf(CaptureError);
  });
});

describe("ChangeCapture stamping", () => {
  it("removes or masks sensitive fields per entity before the event leaves", async () => {
    const { capture, published } = harness({
      redact: { User: ["passwordHash"], Card: { number: "mask", cvv: "remove", holder: (v) => String(v)[0] + "." } },
    });
    await capture.record(undefined, {
      entity: "User",
      action: "update",
      key: { id: 1 },
      data: { id: 1, email: "a@b.c", passwordHash: "new" },
      before: { id: 1, email: "a@b.c", passwordHash: "old" },
      changes: ["passwordHash"],
      source: { orm: "test" },
    });
    await capture.record(undefined, {
      entity: "Card",
      action: "insert",
      key: { id: 2 },
      data: { id: 2, number: "4111111111111111", cvv: "123", holder: "Alice" },
      source: { orm: "test" },
    });
    await capture.record(undefined, {
      entity: "User",
      action: "update",
      key: null,
      bulk: { criteria: { kind: "where", where: { passwordHash: "old" } }, set: { passwordHash: "new" }, affected: 3 },
      source: { orm: "test" },
    });
    const [[user], [card], [bulk]] = published as [[DataEvent], [DataEvent], [DataEvent]];
    expect(user.data).toEqual({ id: 1, email: "a@b.c" });
    expect(user.before).toEqual({ id: 1, email: "a@b.c" });
    expect(user.changes).toEqual(["passwordHash"]);
    expect(card.data).toEqual({ id: 2, number: MASK, holder: "A." });
    expect(bulk.bulk).toEqual({ criteria: { kind: "where", where: { passwordHash: MASK } }, set: {}, affected: 3 });
  });

  it("runWith starts a lazy thenable inside its scope (a Prisma query runs only when awaited)", async () => {
    const { capture, published } = harness();
    const lazy = { then: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => capture.record(undefined, draft(1)).then(resolve, reject) };
    await runWithContext({ actor: "lazy" }, () => lazy);
    expect((published as DataEvent[][])[0]![0]!.context).toMatchObject({ actor: "lazy" });
  });

  it("stamps actor, request id and a child span of the caller's trace from runWith", async () => {
    const { capture, published } = harness();
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await runWithContext({ actor: "alice", requestId: "req-1", traceparent: parent, tenant: "eu" }, () =>
      runWithContext({ requestId: "req-2" }, () => capture.record(undefined, draft(1))),
    );
    await capture.record(undefined, draft(2));
    const [[inside], [outside]] = published as [[DataEvent], [DataEvent]];
    expect(inside.context).toEqual({ actor: "alice", requestId: "req-2", tenant: "eu" });
    expect(inside.trace!.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(inside.trace!.traceparent).not.toBe(parent);
    expect(outside.context).toEqual({});
  });
});

describe("ChangeCapture.recordBuffered", () => {
  it("returns nothing when it buffered, the publish when autocommit, and a build error as a rejection", async () => {
    const { capture, published } = harness();
    const tx = {};
    capture.begin(tx);
    expect(capture.recordBuffered(tx, draft(1))).toBeUndefined();
    expect(published).toEqual([]);
    await capture.commit(tx);
    expect(ids(published[0])).toEqual([1]);

    const autocommit = capture.recordBuffered(undefined, draft(2));
    expect(autocommit).toBeInstanceOf(Promise);
    await autocommit;
    expect(ids(published[1])).toEqual([2]);

    // The error reaches the caller as record()'s does: a rejection, also inside a transaction.
    const broken = (): ChangeDraft => ({
      ...draft(3),
      get key(): never {
        throw new Error("unreadable key");
      },
    });
    capture.begin(tx);
    await expect(capture.recordBuffered(tx, broken())).rejects.toThrow("unreadable key");
    await expect(capture.record(tx, broken())).rejects.toThrow("unreadable key");
    await capture.commit(tx);
    expect(published).toHaveLength(2);
  });
});
