import { describe, expect, it } from "vitest";
import { ChangeCapture, type CaptureSink, type ChangeDraft, type DataEvent, type InTransactionWriter, type SqlClient, type TxExecutor } from "@koper/core";

// Fakes of Koper's own interfaces (CaptureSink, TxExecutor, SqlClient): what the capture hands over.
function harness(takesOverPublishing: boolean) {
  const published: DataEvent[][] = [];
  const dropped: DataEvent[][] = [];
  const written: { events: DataEvent[]; tx: TxExecutor }[] = [];
  const failed: DataEvent[][] = [];
  const committed: DataEvent[][] = [];
  const sink: CaptureSink = { publish: async (events) => void published.push(events), dropped: (events) => void dropped.push(events) };
  const executor = (label: string): TxExecutor => ({ dialect: "postgres", query: async () => [{ label }] });
  const client: SqlClient = { ...executor("client"), transaction: (fn) => fn(executor("own transaction")) };
  const writer: InTransactionWriter = {
    takesOverPublishing,
    write: async (events, tx) => void written.push({ events: [...events], tx }),
    writeFailed: async (events) => void failed.push([...events]),
    afterCommit: (events) => void committed.push([...events]),
  };
  const capture = new ChangeCapture(sink);
  capture.use(writer, client);
  return { capture, published, dropped, written, failed, committed, executor };
}

const draft = (id: number): ChangeDraft => ({ entity: "Order", action: "insert", key: { id }, data: { id }, source: { orm: "test" } });
const ids = (events: readonly DataEvent[] | undefined) => (events ?? []).map((e) => e.key?.id);

describe("ChangeCapture.beforeCommit: the in-transaction writers' handoff", () => {
  it("hands the outermost commit's final events to the writer once, and commit() does not publish what the outbox took", async () => {
    const { capture, published, written, committed, executor } = harness(true);
    const tx = {};
    const appTx = executor("app");
    expect(capture.writesInTransaction).toBe(true);
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.begin(tx); // savepoint, rolled back
    await capture.record(tx, draft(2));
    capture.rollback(tx);
    capture.begin(tx); // savepoint, released
    await capture.record(tx, draft(3));
    await capture.beforeCommit(tx, appTx); // a savepoint's release: no handoff
    expect(written).toHaveLength(0);
    await capture.commit(tx);
    await capture.beforeCommit(tx, appTx);
    await capture.beforeCommit(tx, appTx); // a second call is a no-op
    expect(written).toHaveLength(1);
    expect(written[0]!.tx).toBe(appTx);
    expect(ids(written[0]!.events)).toEqual([1, 3]);
    expect(written[0]!.events.map((e) => e.transaction)).toEqual([
      { id: written[0]!.events[0]!.id, position: 0 },
      { id: written[0]!.events[0]!.id, position: 1 },
    ]);
    expect(written[0]!.events.every((e) => typeof e.time.committed === "number")).toBe(true);
    await capture.commit(tx);
    expect(published).toHaveLength(0);
    expect(ids(committed[0])).toEqual([1, 3]);
  });

  it("a writer that does not take over publishing (the audit) lets commit() publish the same events", async () => {
    const { capture, published, written } = harness(false);
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    await capture.beforeCommit(tx, { dialect: "mysql", query: async () => [] });
    await capture.commit(tx);
    expect(ids(written[0]!.events)).toEqual([1]);
    expect(ids(published[0])).toEqual([1]);
    expect(published[0]![0]).toBe(written[0]!.events[0]);
  });

  it("a poisoned transaction writes nothing and is reported dropped", async () => {
    const { capture, published, dropped, written } = harness(true);
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.poison(tx);
    await capture.beforeCommit(tx, { dialect: "postgres", query: async () => [] });
    await capture.commit(tx);
    expect(written).toHaveLength(0);
    expect(published).toHaveLength(0);
    expect(ids(dropped[0])).toEqual([1]);
  });

  it("a writer's error rejects beforeCommit (so the ORM rolls back), and the rollback drops the events", async () => {
    const { capture, published } = harness(true);
    const tx = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    const failing = { dialect: "postgres" as const, query: async () => [] };
    const broken = new ChangeCapture({ publish: async (e) => void published.push(e), dropped: () => {} });
    broken.use({ takesOverPublishing: true, write: async () => Promise.reject(new Error("disk full")) }, { ...failing, transaction: (fn) => fn(failing) });
    broken.begin(tx);
    await broken.record(tx, draft(2));
    await expect(broken.beforeCommit(tx, failing)).rejects.toThrow("disk full");
    broken.rollback(tx);
    expect(broken.depth(tx)).toBe(0);
    expect(published).toHaveLength(0);
  });

  it("levels other handles opened inside and never ended (MariaDB savepoints in MikroORM) are handed off with the transaction", async () => {
    const { capture, written } = harness(true);
    const tx = {};
    const savepoint = {};
    capture.begin(tx);
    await capture.record(tx, draft(1));
    capture.begin(savepoint, { parent: tx });
    await capture.record(savepoint, draft(2));
    await capture.beforeCommit(savepoint, { dialect: "mysql", query: async () => [] }); // not outermost
    expect(written).toHaveLength(0);
    await capture.beforeCommit(tx, { dialect: "mysql", query: async () => [] });
    expect(ids(written[0]!.events)).toEqual([1, 2]);
  });

  it("an autocommit write and a commit no hook handed off get their rows in a transaction of their own", async () => {
    const { capture, published, written } = harness(true);
    await capture.record(undefined, draft(1));
    const batch = {};
    capture.begin(batch);
    await capture.record(batch, draft(2));
    await capture.record(batch, draft(3));
    await capture.commit(batch);
    expect(written.map((w) => ids(w.events))).toEqual([[1], [2, 3]]);
    expect(await written[0]!.tx.query("select 1")).toEqual([{ label: "own transaction" }]);
    expect(published).toHaveLength(0);
  });

  it("failure events are published at once and handed to writeFailed", async () => {
    const { capture, published, failed } = harness(true);
    await capture.fail(undefined, draft(9), new Error("duplicate key"));
    expect(ids(published[0])).toEqual([9]);
    expect(ids(failed[0])).toEqual([9]);
    expect(failed[0]![0]!.outcome).toBe("failed");
  });

  it("an autocommit write whose rows cannot be written (the write already committed) is published directly, not lost", async () => {
    const published: DataEvent[][] = [];
    const capture = new ChangeCapture({ publish: async (e) => void published.push(e), dropped: () => {} });
    const broken: TxExecutor = { dialect: "postgres", query: async () => Promise.reject(new Error("no such table")) };
    capture.use({ takesOverPublishing: true, write: (_events, tx) => tx.query("INSERT").then(() => {}) }, { ...broken, transaction: (fn) => fn(broken) });
    await capture.record(undefined, draft(1));
    expect(ids(published[0])).toEqual([1]);
  });
});
