import { DataListener, Koper, type DataEvent, type Row } from "@koper/core";
import { afterEach, beforeEach, describe, expect } from "vitest";
import type { AdapterHarness, HarnessFactory } from "./harness.ts";
import type { ContractTest } from "./named.ts";
import { RecordingTransport } from "./RecordingTransport.ts";

/** Receives every Customer event, then throws: each event is dead-lettered as well. */
@DataListener({ entity: "Customer", retry: { retries: 0, initialDelayMs: 0 } })
class RefusingCustomerListener {
  readonly events: DataEvent[] = [];
  onInsertCustomer(_c: Row, e: DataEvent) { this.#refuse(e); }
  onUpdateCustomer(_c: Row, e: DataEvent) { this.#refuse(e); }
  onDeleteCustomer(_c: Row, e: DataEvent) { this.#refuse(e); }
  onInsertCustomer_X(_c: Row, e: DataEvent) { this.#refuse(e); }
  onUpdateCustomer_X(_c: Row, e: DataEvent) { this.#refuse(e); }
  onBulkUpdateCustomer(e: DataEvent) { this.#refuse(e); }
  onBulkDeleteCustomer(e: DataEvent) { this.#refuse(e); }
  onBulkUpdateCustomer_X(e: DataEvent) { this.#refuse(e); }

  #refuse(event: DataEvent): never {
    this.events.push(event);
    throw new Error("refused, so that the event goes to the dead letter too");
  }
}

const secret = (what: string) => `${what}-${Math.random().toString(36).slice(2, 10)}-s3cr3t`;

/**
 * The redaction contract: with `Customer.passwordHash` removed and `Customer.email` masked, no
 * byte Koper publishes (encoded value, key, headers, dead-letter copies) carries either value,
 * whatever the write: row writes, writes by criteria (secret in SET, in WHERE, in a nested OR
 * group, through the criteria API and the query builder) and refused writes (duplicate key,
 * NOT NULL, whose database messages quote values and rows).
 */
export function redactionContract(makeHarness: HarnessFactory, contractTest: ContractTest): void {
  describe("redaction: no published byte carries a redacted value", () => {
    let koper: Koper;
    let transport: RecordingTransport;
    let listener: RefusingCustomerListener;
    let db: AdapterHarness;

    beforeEach(async () => {
      transport = new RecordingTransport();
      koper = new Koper({ transport, redact: { Customer: { passwordHash: "remove", email: "mask" } }, service: "contract" });
      listener = new RefusingCustomerListener();
      koper.register(listener);
      await koper.start();
      db = await makeHarness(koper);
    });

    afterEach(async () => {
      await koper.stop();
      await db?.close();
    });

    // Stops Koper (every event handled and dead-lettered), then greps every published byte.
    async function expectNoneLeaked(secrets: string[], events: number): Promise<DataEvent[]> {
      await koper.stop();
      const published = transport.sent.filter((m) => !m.topic.endsWith(".dlq"));
      expect(published).toHaveLength(events);
      expect(transport.sent.length).toBe(2 * events); // each one dead-lettered too
      for (const value of secrets) expect(transport.carrying(value), `"${value}" was published`).toEqual([]);
      return listener.events;
    }

    contractTest("redaction.row-writes", "row writes: insert, update of both fields, delete", async () => {
      const [email, hash, email2, hash2] = [secret("mail"), secret("hash"), secret("mail"), secret("hash")];
      const customer = await db.insertCustomer({ email, passwordHash: hash });
      await db.updateCustomer(customer.id, { email: email2, passwordHash: hash2 });
      await db.deleteCustomer(customer.id);
      const events = await expectNoneLeaked([email, hash, email2, hash2], 3);
      expect(events.map((e) => e.action)).toEqual(["insert", "update", "delete"]);
      expect(events[1]!.changes).toEqual(expect.arrayContaining(["email", "passwordHash"]));
      expect(events[0]!.data).toMatchObject({ id: customer.id, email: "***" });
    });

    contractTest("redaction.criteria-writes", "writes by criteria: the secret in SET, in WHERE, and in a nested OR group", async () => {
      const [email, hash, hash2, email3] = [secret("mail"), secret("hash"), secret("hash"), secret("mail")];
      await db.insertCustomer({ email, passwordHash: hash });
      await db.bulkUpdateCustomers({ passwordHash: hash }, { passwordHash: hash2 });
      await db.bulkUpdateCustomers({ anyOf: [{ email: "nobody@example.com" }, { passwordHash: hash2, email }] }, { email: email3 });
      await db.bulkDeleteCustomers({ email: email3, passwordHash: hash2 });
      const events = await expectNoneLeaked([email, hash, hash2, email3], 4);
      const bulk = events.slice(1);
      expect(bulk.map((e) => [e.action, e.bulk?.affected])).toEqual([["update", 1], ["update", 1], ["delete", 1]]);
      for (const event of bulk) expect(event.bulk!.criteria).not.toBeNull();
      expect(bulk[1]!.bulk!.set).toEqual({ email: "***" });
      expect(bulk[0]!.bulk!.criteria!.kind).toBe("where"); // an ORM without OR in its criteria API may use SQL for the group
    });

    contractTest("redaction.query-builder", "writes by criteria through the query builder (SQL criteria)", async (ctx) => {
      if (!db.builderUpdateCustomers) ctx.skip();
      const [email, hash, hash2, email3] = [secret("mail"), secret("hash"), secret("hash"), secret("mail")];
      await db.insertCustomer({ email, passwordHash: hash });
      await db.builderUpdateCustomers!({ passwordHash: hash }, { passwordHash: hash2 });
      await db.builderUpdateCustomers!({ anyOf: [{ email: "nobody@example.com" }, { passwordHash: hash2, email }] }, { email: email3 });
      const events = await expectNoneLeaked([email, hash, hash2, email3], 3);
      expect(events.slice(1).map((e) => [e.bulk?.criteria?.kind, e.bulk?.affected])).toEqual([["sql", 1], ["sql", 1]]);
    });

    contractTest("redaction.refused-writes", "refused writes: duplicate key on a redacted column, NOT NULL violation quoting the row, refused updates", async () => {
      const [email, hash, hash2, other] = [secret("mail"), secret("hash"), secret("hash"), secret("mail")];
      await db.insertCustomer({ email, passwordHash: hash });
      const second = await db.insertCustomer({ email: other, passwordHash: hash });
      await expect(db.insertCustomer({ email, passwordHash: hash2 })).rejects.toBeInstanceOf(Error);
      await expect(db.insertCustomerWithoutEmail(hash2)).rejects.toBeInstanceOf(Error);
      await expect(db.updateCustomer(second.id, { email, passwordHash: hash2 })).rejects.toBeInstanceOf(Error);
      await expect(db.bulkUpdateCustomers({ passwordHash: hash, email: other }, { email, passwordHash: hash2 })).rejects.toBeInstanceOf(Error);
      const events = await expectNoneLeaked([email, hash, hash2, other], 6);
      const failed = events.filter((e) => e.outcome === "failed");
      const missing = db.capabilities.validatesRequired ? "validation_error" : "not_null_violation";
      expect(failed.map((e) => e.error?.code)).toEqual(["unique_violation", missing, "unique_violation", "unique_violation"]);
      for (const event of failed) expect(event.error!.message.length).toBeGreaterThan(0);
    });
  });
}
