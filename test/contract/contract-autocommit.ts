import { ensureAuditTable, ensureOutboxTable, type DataEvent, type SqlClient } from "@koper/core";
import { describe, expect } from "vitest";
import type { AdapterHarness } from "./harness.ts";
import type { ContractTest } from "./named.ts";
import { num, type ContractWorld } from "./world.ts";

/** One autocommit write the contract makes (no transaction around it), and how to tell it landed. */
interface Shape {
  name: string;
  action: DataEvent["action"];
  /** Makes the row the write needs (with the writer still accepting rows); returns what `write` and `landed` use. */
  prepare(): Promise<string>;
  write(number: string): Promise<unknown>;
  /** True when the write's change is in the table. */
  landed(number: string): Promise<boolean>;
}

let qty = 1000;

// Every autocommit write the harness offers: the usual row writes (which some ORMs already run in a
// transaction of their own) and the single-statement ones an adapter must wrap.
function shapes(db: AdapterHarness): Shape[] {
  const exists = async (number: string) => (await db.findOrderByNumber(number)) !== null;
  const fresh = async () => num();
  const list: Shape[] = [
    { name: "insertOrder", action: "insert", prepare: fresh, write: (n) => db.insertOrder({ number: n, qty: 1 }), landed: exists },
    { name: "upsertOrder", action: "insert", prepare: fresh, write: (n) => db.upsertOrder({ number: n, qty: 1 }), landed: exists },
    {
      name: "bulkRenumber",
      action: "update",
      prepare: async () => (await db.insertOrder({ number: num(), qty: 1 })).number,
      write: (n) => db.bulkRenumber(n, `${n}-renumbered`),
      landed: (n) => exists(`${n}-renumbered`),
    },
    {
      name: "bulkDeleteOrders",
      action: "delete",
      // A quantity of its own: the delete by criteria hits this row only.
      prepare: async () => (await db.insertOrder({ number: num(), qty: (qty += 1000) })).number,
      write: async (n) => db.bulkDeleteOrders((await db.findOrderByNumber(n))!.qty),
      landed: async (n) => !(await exists(n)),
    },
  ];
  const { insertOrderByStatement, builderInsertOrder } = db;
  if (insertOrderByStatement) list.push({ name: "insertOrderByStatement", action: "insert", prepare: fresh, write: (n) => insertOrderByStatement({ number: n, qty: 1 }), landed: exists });
  if (builderInsertOrder) list.push({ name: "builderInsertOrder", action: "insert", prepare: fresh, write: (n) => builderInsertOrder({ number: n, qty: 1 }), landed: exists });
  return list;
}

/**
 * Makes every INSERT into `table` fail until the returned function runs: the in-transaction
 * writer's own statement fails, the data statement before it does not.
 */
async function refuseInserts(client: SqlClient, table: string): Promise<() => Promise<void>> {
  const name = `${table}_refuse`;
  if (client.dialect === "postgres") {
    await client.query(`ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (false) NOT VALID`);
    return async () => void (await client.query(`ALTER TABLE ${table} DROP CONSTRAINT ${name}`));
  }
  if (client.dialect === "mysql") {
    await client.query(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the contract test'`);
  } else {
    await client.query(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'refused by the contract test'); END`);
  }
  return async () => void (await client.query(`DROP TRIGGER ${name}`));
}

/**
 * The same checks for the outbox and the audit: when the writer's row cannot be written, an
 * autocommit write is not in the table and the application got an error; when it can, both are there.
 */
async function checkAtomic(db: AdapterHarness, table: string, writerRows: () => Promise<DataEvent["action"][]>): Promise<void> {
  // One line per shape, compared as a whole: a failure shows every shape that broke, not the first.
  const refused: string[] = [];
  for (const shape of shapes(db)) {
    const number = await shape.prepare();
    const before = (await writerRows()).length;
    const allow = await refuseInserts(db.sqlClient, table);
    let rejected = false;
    try {
      await shape.write(number).catch(() => (rejected = true));
    } finally {
      await allow();
    }
    const landed = await shape.landed(number);
    const added = (await writerRows()).length - before;
    refused.push(`${shape.name}: ${rejected ? "rejected" : "resolved"}, data ${landed ? "written" : "not written"}, ${added} writer rows`);
  }
  expect(refused).toEqual(shapes(db).map((shape) => `${shape.name}: rejected, data not written, 0 writer rows`));
  const accepted: string[] = [];
  for (const shape of shapes(db)) {
    const number = await shape.prepare();
    const before = (await writerRows()).length;
    await shape.write(number);
    const landed = await shape.landed(number);
    accepted.push(`${shape.name}: data ${landed ? "written" : "not written"}, writer rows ${(await writerRows()).slice(before).join(",")}`);
  }
  expect(accepted).toEqual(shapes(db).map((shape) => `${shape.name}: data written, writer rows ${shape.action}`));
}

/** Autocommit writes (no transaction around them) commit or fail together with their outbox and audit rows. */
export function autocommitContract(world: () => ContractWorld, contractTest: ContractTest): void {
  describe("autocommit writes with in-transaction writers", () => {
    contractTest("outbox.autocommit-atomic", "an autocommit write whose outbox row cannot be written is not committed, and its caller gets the error", async () => {
      const table = `koper_outbox_${Math.random().toString(36).slice(2, 10)}`;
      const db = await world().harness({ outbox: { table, relay: false } });
      await ensureOutboxTable(db.sqlClient, { table });
      try {
        const rows = async () => (await db.sqlClient.query(`SELECT payload FROM ${table} ORDER BY id`)).map((row) => (JSON.parse(String(row.payload)) as DataEvent).action);
        await checkAtomic(db, table, rows);
      } finally {
        await db.sqlClient.query(`DROP TABLE ${table}`);
        await db.sqlClient.query(`DROP TABLE ${table}_lease`);
      }
    });

    contractTest("audit.autocommit-atomic", "an autocommit write whose audit row cannot be written is not committed, and its caller gets the error", async () => {
      const table = `koper_audit_${Math.random().toString(36).slice(2, 10)}`;
      const db = await world().harness({ audit: { table, entities: ["Order"] } });
      await ensureAuditTable(db.sqlClient, { table });
      try {
        const rows = async () =>
          (await db.sqlClient.query(`SELECT action, entry FROM ${table} ORDER BY seq`))
            .filter((row) => ((JSON.parse(String(row.entry)) as { outcome?: string }).outcome ?? "committed") === "committed") // entry leaves out `committed`
            .map((row) => row.action as DataEvent["action"]);
        await checkAtomic(db, table, rows);
      } finally {
        await db.sqlClient.query(`DROP TABLE ${table}`);
      }
    });
  });
}
