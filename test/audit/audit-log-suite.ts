import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FORGOTTEN, MASK, isKoperError, runWithContext, type ChangeDraft, type DataEvent } from "@koper/core";
import { openAuditDb, skipReason, type AuditDb } from "./databases.ts";
import { AuditWorld, customer, pause } from "./world.ts";

/** The AuditLog/AuditStore suite, run against one database through its plain driver. */
export async function runAuditLogSuite(name: AuditDb["name"]): Promise<void> {
  const skip = await skipReason(name);
  describe.skipIf(skip !== undefined)(`audit log on ${name}`, () => {
    let db: AuditDb;
    beforeEach(async () => void (db = await openAuditDb(name)));
    afterEach(async () => db.close());

    it("history is the writes, oldest first, with field-level diffs; stateAt rebuilds each state", async () => {
      const w = new AuditWorld(db);
      const id = randomUUID();
      await w.commit([customer("insert", id, { id, name: "Ann", email: "ann@example.com", tier: 1 })], { actor: "alice" });
      await w.commit([customer("update", id, { id, name: "Ann", email: "ann@new.example", tier: 1 }, { changes: ["email"], before: { id, name: "Ann", email: "ann@example.com", tier: 1 } })], { actor: "bob" });
      await w.commit([customer("update", id, { tier: 2 }, { changes: ["tier"] })], { actor: "alice" });
      await w.commit([customer("delete", id, null, { before: { id, name: "Ann", email: "ann@new.example", tier: 2 } })], { actor: "carol" });
      const history = await w.log.history("Customer", id);
      expect(history.map((v) => [v.action, v.actor])).toEqual([["insert", "alice"], ["update", "bob"], ["update", "alice"], ["delete", "carol"]]);
      expect(history[0]!.diff).toEqual([
        { field: "id", from: undefined, to: id },
        { field: "name", from: undefined, to: "Ann" },
        { field: "email", from: undefined, to: "ann@example.com" },
        { field: "tier", from: undefined, to: 1 },
      ]);
      expect(history[1]!.diff).toEqual([{ field: "email", from: "ann@example.com", to: "ann@new.example" }]);
      // No `before` from the ORM: the diff's "from" comes from the rebuilt state.
      expect(history[2]!.diff).toEqual([{ field: "tier", from: 1, to: 2 }]);
      expect(history[3]!.diff.map((c) => [c.field, c.from, c.to])).toContainEqual(["tier", 2, undefined]);
      const states = [
        { id, name: "Ann", email: "ann@example.com", tier: 1 },
        { id, name: "Ann", email: "ann@new.example", tier: 1 },
        { id, name: "Ann", email: "ann@new.example", tier: 2 },
        null,
      ];
      expect(history.map((v) => v.state)).toEqual(states);
      for (const [i, version] of history.entries()) {
        expect(await w.log.stateAt("Customer", { id }, version.time.committed!)).toEqual(states[i]);
      }
      expect(await w.log.stateAt("Customer", id, history[0]!.time.committed! - 1)).toBeNull();
    });

    it("history has a total order (time, then insert order); stateAt({ version }) tells apart versions of one millisecond", async () => {
      const w = new AuditWorld(db);
      const id = randomUUID();
      const at = Date.now() - 60_000;
      const [v1] = await w.commit([customer("insert", id, { id, tier: 1 })], {}, undefined, at);
      const [v2] = await w.commit([customer("update", id, { id, tier: 2 }, { changes: ["tier"] })], {}, undefined, at);
      const [v3] = await w.commit([customer("update", id, { id, tier: 3 }, { changes: ["tier"] })], {}, undefined, at);
      const history = await w.log.history("Customer", id);
      expect(history.map((v) => [v.eventId, v.time.committed])).toEqual([[v1!.id, at], [v2!.id, at], [v3!.id, at]]);
      expect(history.map((v) => v.state)).toEqual([{ id, tier: 1 }, { id, tier: 2 }, { id, tier: 3 }]);
      expect(await w.log.stateAt("Customer", id, { version: v1!.id })).toEqual({ id, tier: 1 });
      expect(await w.log.stateAt("Customer", id, { version: v2!.id })).toEqual({ id, tier: 2 });
      expect(await w.log.stateAt("Customer", id, { version: history[2]!.eventId })).toEqual({ id, tier: 3 });
      // A time means "after every version of that millisecond"; the millisecond before, none yet.
      expect(await w.log.stateAt("Customer", id, new Date(at))).toEqual({ id, tier: 3 });
      expect(await w.log.stateAt("Customer", id, at - 1)).toBeNull();
      await expect(w.log.stateAt("Customer", id, { version: randomUUID() })).rejects.toMatchObject({ code: "audit_invalid_argument" });
      // A later version that was stamped earlier (a failed attempt written after its rollback) sorts by its time.
      const [early] = await w.commit([customer("update", id, { id, tier: 9 }, { changes: ["tier"] })], {}, undefined, at - 5);
      expect((await w.log.history("Customer", id)).map((v) => v.eventId)).toEqual([early!.id, v1!.id, v2!.id, v3!.id]);
    });

    it("keeps actor, request id, extra context, source and the transaction's id and positions", async () => {
      const w = new AuditWorld(db);
      const [a, b] = [randomUUID(), randomUUID()];
      const events = await w.commit(
        [customer("insert", a, { id: a, name: "A" }), { entity: "Order", action: "insert", key: { id: 9, line: 2 }, data: { id: 9, line: 2, customerId: a }, source: { orm: "test" } }, customer("insert", b, { id: b, name: "B" })],
        { actor: "alice", requestId: "req-1", tenant: "acme" },
      );
      const entries = await w.log.transaction(events[0]!.transaction.id);
      expect(entries.map((e) => [e.entity, e.transaction.position])).toEqual([["Customer", 0], ["Order", 1], ["Customer", 2]]);
      expect(entries[1]).toMatchObject({ actor: "alice", requestId: "req-1", context: { tenant: "acme" }, key: { id: 9, line: 2 }, eventId: events[1]!.id });
      expect(entries[1]!.source).toMatchObject({ orm: "test" });
      expect((await w.log.history("Order", { line: 2, id: 9 })).length).toBe(1);
    });

    it("stores values with U+001E, empty strings, NULLs and unicode exactly (PostgreSQL joins each column's values with U+001E)", async () => {
      const w = new AuditWorld(db);
      const odd = ["a\u001eb", "\u001e", "", "ünïcødé 😀 中文 e\u0301", "\u001e\u001e", 'tab\t nl\n \\ "q" {,} NULL'];
      const row = (v: string, i: number) => ({ entity: "Customer", action: "insert" as const, key: { id: `k${i}${v}` }, data: { id: `k${i}${v}`, note: v, empty: "" }, source: { orm: "test" } });
      // Rows of one transaction whose actors hold the separator, an empty string, unicode, and a NULL.
      const mixed = await w.events(odd.map(row), {});
      mixed.forEach((event, i) => {
        (event.context as Record<string, unknown>).actor = i === 1 ? undefined : odd[i];
        event.time.committed = event.time.committed! + i; // commit times that differ: a joined bigint column
      });
      await w.write(mixed);
      // Rows whose every value joins (empty elements among them); one value in every row; a lone row of empty strings.
      const joined = await w.events([row("", 10), row("x", 11), row("", 12)], {});
      joined.forEach((event, i) => void ((event.context as Record<string, unknown>).actor = i === 1 ? "x" : ""));
      await w.write(joined);
      const same = await w.commit([row("\u001e", 13), row("", 14)], { actor: "\u001e" });
      const nulls = await w.events([row("n", 20), row("n", 21), row("n", 22)], { actor: "some" });
      delete (nulls[1]!.context as Record<string, unknown>).actor;
      await w.write(nulls);
      const lone = await w.commit([{ entity: "Customer", action: "update", key: null, bulk: { criteria: { kind: "where", where: { note: "" } }, set: { note: "" }, affected: 0 }, data: null, source: { orm: "test" } }], { actor: "" });
      const expected = [...mixed, ...joined, ...same, ...nulls, ...lone].map((e) => [e.key === null ? "" : (e.key as { id: string }).id, (e.context as { actor?: string }).actor ?? null]);
      const stored = await db.client.query(`SELECT entity_key, actor, committed_at FROM ${db.table} ORDER BY seq`);
      expect(stored.map((r) => [r.entity_key, r.actor])).toEqual(expected);
      expect(stored.slice(0, mixed.length).map((r) => Number(r.committed_at))).toEqual(mixed.map((e) => Math.floor(e.time.committed!)));
      const entries = await w.log.transaction(mixed[0]!.transaction.id);
      expect(entries.map((e) => [e.key, e.actor, e.after])).toEqual(mixed.map((e, i) => [e.key, i === 1 ? undefined : odd[i], e.data]));
      expect((await w.log.history("Customer", "k0a\u001eb")).map((v) => v.after)).toEqual([{ id: "k0a\u001eb", note: "a\u001eb", empty: "" }]);
      expect((await w.log.transaction(lone[0]!.transaction.id)).map((e) => [e.key, e.actor, e.bulk])).toEqual([[null, "", lone[0]!.bulk]]);
    });

    it("changes() filters by entity, actor, action and time, and pages with a cursor", async () => {
      const w = new AuditWorld(db);
      const start = Date.now();
      for (let i = 0; i < 5; i++) await w.commit([customer("insert", `c${i}`, { id: `c${i}` })], { actor: i % 2 ? "bob" : "alice" });
      const middle = (await w.log.history("Customer", "c3"))[0]!.time.committed!;
      await w.commit([{ entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1 }, source: { orm: "test" } }], { actor: "alice" });
      expect((await w.log.changes({ actor: "alice" })).entries.map((e) => e.key)).toEqual([{ id: "c0" }, { id: "c2" }, { id: "c4" }, { id: 1 }]);
      expect((await w.log.changes({ entity: "Customer", actor: "alice" })).entries).toHaveLength(3);
      expect((await w.log.changes({ action: "insert", since: middle })).entries.map((e) => e.key)).toEqual([{ id: "c3" }, { id: "c4" }, { id: 1 }]);
      expect((await w.log.changes({ since: start, until: middle })).entries).toHaveLength(3);
      const first = await w.log.changes({ limit: 4 });
      expect([first.entries.length, first.hasMore]).toEqual([4, true]);
      const second = await w.log.changes({ limit: 4, cursor: first.cursor });
      expect([second.entries.length, second.hasMore]).toEqual([2, false]);
      const third = await w.log.changes({ limit: 4, cursor: second.cursor });
      expect(third.entries).toEqual([]);
      await w.commit([customer("update", "c0", { id: "c0", name: "late" })]);
      expect((await w.log.changes({ cursor: third.cursor })).entries.map((e) => e.action)).toEqual(["update"]);
      await expect(w.log.changes({ cursor: "nonsense" })).rejects.toMatchObject({ code: "audit_invalid_argument" });
      await expect(w.log.changes({ limit: 0 })).rejects.toSatisfy(isKoperError);
    });

    it("pagination returns every committed row exactly once while transactions commit out of seq order", async () => {
      const w = new AuditWorld(db);
      const written: string[] = [];
      let writing = true;
      const writer = async (n: number) => {
        for (let i = 0; i < 12; i++) {
          const slow = (i + n) % 3 === 0;
          const events = await w.commit(
            [customer("insert", `w${n}-${i}`, { id: `w${n}-${i}` }), customer("update", `w${n}-${i}`, { id: `w${n}-${i}`, v: 2 })],
            {},
            slow ? () => new Promise((resolve) => setTimeout(resolve, 25)) : undefined,
          );
          written.push(...events.map((e) => e.id));
        }
      };
      const seen: string[] = [];
      const reader = async () => {
        let cursor: string | undefined;
        for (;;) {
          const done = !writing;
          const page = await w.log.changes({ cursor, limit: 5 });
          seen.push(...page.entries.map((e) => e.eventId));
          cursor = page.cursor;
          if (done && page.entries.length === 0) return;
          if (page.entries.length === 0) await pause();
        }
      };
      const reading = reader();
      try {
        await Promise.all([0, 1, 2, 3].map(writer));
      } finally {
        writing = false;
        await reading;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual([...written].sort());
    });

    it("a rolled-back transaction leaves no audit row; a failed attempt is kept as failed and changes no state", async () => {
      const w = new AuditWorld(db);
      const id = randomUUID();
      await w.commit([customer("insert", id, { id, name: "Ann" })]);
      await w.rollBack([customer("update", id, { id, name: "Rolled" }, { changes: ["name"] })]);
      const error = Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" });
      await w.fail(customer("update", id, { id, name: "Dup" }, { changes: ["name"] }), error, { actor: "bob" });
      const history = await w.log.history("Customer", id);
      expect(history.map((v) => [v.action, v.outcome, v.actor])).toEqual([["insert", "committed", undefined], ["update", "failed", "bob"]]);
      expect(history[1]!.error?.message).toContain("duplicate key");
      expect(history[1]!.state).toEqual({ id, name: "Ann" });
      expect(await w.dump()).not.toContain("Rolled");
      expect(await w.log.stateAt("Customer", id, Date.now() + 1000)).toEqual({ id, name: "Ann" });
    });

    it("keeps bulk writes as bulk entries (criteria, set, count) and masks redacted fields", async () => {
      const w = new AuditWorld(db, { redact: { Customer: { password: "mask", ssn: "remove" } } });
      const id = randomUUID();
      await w.commit([customer("insert", id, { id, name: "Ann", password: "hunter22", ssn: "078-05-1120" })]);
      await w.commit([{ entity: "Customer", action: "update", key: null, bulk: { criteria: { kind: "where", where: { tier: 1 } }, set: { tier: 2, password: "reset-me" }, affected: 3 }, data: null, source: { orm: "test" } }]);
      const [bulk] = (await w.log.changes({ entity: "Customer", action: "update" })).entries;
      expect(bulk!.bulk).toEqual({ criteria: { kind: "where", where: { tier: 1 } }, set: { tier: 2, password: MASK }, affected: 3 });
      expect((await w.log.history("Customer", id))[0]!.after).toEqual({ id, name: "Ann", password: MASK });
      const dump = await w.dump();
      for (const secret of ["hunter22", "078-05-1120", "reset-me"]) expect(dump).not.toContain(secret);
    });

    it("a change of a redacted field shows in the diff as changed, its values hidden (masked or removed alike)", async () => {
      const w = new AuditWorld(db, { redact: { Customer: { password: "mask", ssn: "remove" } } });
      const id = randomUUID();
      await w.commit([customer("insert", id, { id, name: "Ann", password: "hunter22", ssn: "078-05-1120" })]);
      const before = { id, name: "Ann", password: "hunter22", ssn: "078-05-1120" };
      await w.commit([customer("update", id, { ...before, password: "hunter23" }, { changes: ["password"], before })], { actor: "ann" });
      await w.commit([customer("update", id, { ...before, ssn: "078-05-1121" }, { changes: ["ssn"], before })], { actor: "hr" });
      await w.commit([customer("update", id, { ...before, name: "Ann" }, { changes: [], before })]);
      const history = await w.log.history("Customer", id);
      expect(history[1]!.diff).toEqual([{ field: "password", from: MASK, to: MASK }]);
      expect(history[2]!.diff).toEqual([{ field: "ssn", from: MASK, to: MASK }]);
      expect(history[3]!.diff).toEqual([]);
      expect(history[3]!.state).toEqual({ id, name: "Ann", password: MASK });
      const dump = await w.dump();
      for (const secret of ["hunter2", "078-05-112"]) expect(dump).not.toContain(secret);
    });

    it("a key longer than entity_key holds and an actor longer than actor holds are stored (as digests) and found", async () => {
      const w = new AuditWorld(db);
      const id = `https://example.com/${"ü".repeat(600)}`;
      const actor = `${"a".repeat(300)}@example.com`;
      await w.commit([customer("insert", id, { id, name: "Long" })], { actor });
      await w.commit([customer("update", id, { id, name: "Longer" }, { changes: ["name"] })], { actor: "bob" });
      const composite = { id, line: 2 };
      await w.commit([{ entity: "Order", action: "insert", key: composite, data: { ...composite }, source: { orm: "test" } }], { actor });
      const history = await w.log.history("Customer", id);
      expect(history.map((v) => [v.key, v.actor, v.state])).toEqual([
        [{ id }, actor, { id, name: "Long" }],
        [{ id }, "bob", { id, name: "Longer" }],
      ]);
      expect((await w.log.history("Order", { line: 2, id })).map((v) => v.key)).toEqual([composite]);
      expect((await w.log.changes({ actor })).entries.map((e) => [e.entity, e.actor])).toEqual([["Customer", actor], ["Order", actor]]);
      expect(await w.log.stateAt("Customer", id, { version: history[0]!.eventId })).toEqual({ id, name: "Long" });
      const stored = await db.client.query(`SELECT entity_key, actor FROM ${db.table} ORDER BY seq`);
      expect(stored.map((row) => [String(row.entity_key).length <= 512, row.actor === null || String(row.actor).length <= 191])).toEqual([[true, true], [true, true], [true, true]]);
      await runWithContext({ actor }, () => w.log.forget("Customer", id));
      const after = await w.log.history("Customer", id);
      expect(after.map((v) => [v.action, v.actor])).toEqual([["insert", actor], ["update", "bob"], ["forget", actor]]);
    });

    it("prune deletes rows committed before a time", async () => {
      const w = new AuditWorld(db);
      await w.commit([customer("insert", "old", { id: "old" })]);
      const cut = Date.now() + 1;
      await pause();
      await w.commit([customer("insert", "new", { id: "new" })]);
      expect(await w.log.prune({ olderThan: cut })).toBe(1);
      expect((await w.log.changes()).entries.map((e) => e.key)).toEqual([{ id: "new" }]);
    });

    it("forget erases a subject's fields from its whole history, bulk criteria, errors and referencing rows, and records that it did", async () => {
      const references = { Customer: [{ entity: "Order", by: "customerId", fields: ["shipName", "shipEmail"] }] };
      const w = new AuditWorld(db, { references });
      const id = randomUUID();
      const other = randomUUID();
      await w.commit([customer("insert", id, { id, name: "Zelda Quux", email: "zelda@quux.example", tier: 1 })]);
      await w.commit([customer("update", id, { id, name: "Zelda Quux", email: "zq@quux.example", tier: 1 }, { changes: ["email"], before: { id, name: "Zelda Quux", email: "zelda@quux.example", tier: 1 } })]);
      await w.commit([{ entity: "Order", action: "insert", key: { id: 1 }, data: { id: 1, customerId: id, shipName: "Zelda Quux", shipEmail: "zq@quux.example", total: 5 }, source: { orm: "test" } }]);
      await w.commit([{ entity: "Customer", action: "update", key: null, bulk: { criteria: { kind: "where", where: { email: "zq@quux.example" } }, set: { tier: 3 }, affected: 1 }, data: null, source: { orm: "test" } }]);
      await w.fail(customer("insert", other, { id: other, email: "zq@quux.example" }), new Error('Key (email)=(zq@quux.example) already exists'));
      await w.fail(customer("update", id, { id, email: "zelda@quux.example" }), new Error('duplicate entry "zelda@quux.example"'));
      await w.commit([customer("insert", other, { id: other, name: "Other Person", email: "other@example.com" })]);
      expect(await w.dump()).toContain("zq@quux.example");

      const result = await w.log.forget("Customer", id);
      expect(result).toMatchObject({ rows: 3, references: 1 });
      expect(result.fields).toEqual(["email", "name", "tier"]);
      const dump = await w.dump();
      for (const secret of ["Zelda", "Quux", "zelda@quux.example", "zq@quux.example"]) expect(dump).not.toContain(secret);
      const toolDump = await w.toolDump();
      expect(toolDump).toContain("Other Person"); // the dump holds the table's data
      for (const secret of ["Zelda", "Quux", "zelda@quux.example", "zq@quux.example"]) expect(toolDump).not.toContain(secret);
      expect(dump).toContain("Other Person");
      const history = await w.log.history("Customer", id);
      expect(history.map((v) => v.action)).toEqual(["insert", "update", "update", "forget"]);
      expect(history[1]!.diff).toEqual([]);
      expect(history[0]!.after).toEqual({ id, name: FORGOTTEN, email: FORGOTTEN, tier: FORGOTTEN });
      expect(history[3]!.after).toEqual({ fields: result.fields, rows: 3, references: 1 });
      expect((await w.log.history("Order", 1))[0]!.after).toMatchObject({ customerId: id, shipName: FORGOTTEN, total: 5 });
    });

    it("keyFields: an entity's key fields from its keyed rows, never an erasure's key as given; [] when no row has a key; undefined for no row", async () => {
      const w = new AuditWorld(db);
      const bulk = (entity: string): ChangeDraft => ({ entity, action: "update", key: null, bulk: { criteria: { kind: "where", where: { tier: 1 } }, set: { tier: 2 }, affected: 1 }, data: null, source: { orm: "test" } });
      await w.commit([{ entity: "OrderLine", action: "insert", key: { orderId: 9, line: 2 }, data: { orderId: 9, line: 2, qty: 1 }, source: { orm: "test" } }]);
      await w.commit([bulk("OrderLine")]); // a later row without a key: the keyed one still tells
      expect(await w.log.keyFields("OrderLine")).toEqual(["orderId", "line"]);
      await w.commit([customer("insert", "c1", { id: "c1", name: "C" })]);
      await w.log.forget("Customer", "zz"); // recorded with its key as given ({ key: "zz" }), under a higher key text
      expect(await w.log.keyFields("Customer")).toEqual(["id"]);
      await w.commit([bulk("Tier")]);
      expect(await w.log.keyFields("Tier")).toEqual([]);
      await w.log.forget("Ghost", 7);
      expect(await w.log.keyFields("Ghost")).toEqual([]);
      expect(await w.log.keyFields("Custmer")).toBeUndefined();
    });

    it("forget with fields masks only those", async () => {
      const w = new AuditWorld(db);
      await w.commit([customer("insert", "k1", { id: "k1", name: "Keep Me", email: "drop@me.example" })], { actor: "alice" });
      await w.log.forget("Customer", { id: "k1" }, ["email"]);
      const [version] = await w.log.history("Customer", "k1");
      expect(version!.after).toEqual({ id: "k1", name: "Keep Me", email: FORGOTTEN });
      expect(await w.dump()).not.toContain("drop@me.example");
    });
  });
}

export type { DataEvent };
