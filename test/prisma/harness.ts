import type { Koper } from "@koper/core";
import { koperPrisma, type KoperPrismaOptions } from "@koper/prisma";
import type { AdapterHarness, ContractAdapterOptions, CustomerCriteria, HarnessFactory, OpenTransaction, OrderOps, OrderRow } from "../contract/harness.ts";
import type { Client, PrismaDatabase } from "./databases.ts";

/** The client `koperPrisma` returns (typed like the generated client it extends). */
export function extend(client: Client, koper: Koper, options?: KoperPrismaOptions) {
  return client.$extends(koperPrisma(koper, options));
}

/** The extended client, as the tests use it. */
export type Extended = ReturnType<typeof extend>;

/**
 * The contract's harness for Prisma on `db`: `create`/`update`/`delete`/`upsert` for row writes,
 * `updateMany`/`deleteMany` for bulk, `$executeRaw` as the "query builder" (SQL only).
 * `captureBefore` is on: the contract wants `before` on updates. `detach()` goes back to the
 * base client: a Prisma extension is not removed, the application stops using the extended client.
 */
export function prismaHarness(db: PrismaDatabase): HarnessFactory {
  return async (koper: Koper, options: ContractAdapterOptions = {}): Promise<AdapterHarness> => {
    const opened = await db.open();
    let prisma: Extended;
    try {
      prisma = extend(opened.client, koper, { captureBefore: true, ...options });
    } catch (error) {
      await opened.drop();
      throw error;
    }
    let current: Extended = prisma;
    const live = ops(() => current, db.name);
    return {
      ...live,
      orm: "prisma",
      capabilities: {
        dialect: db.name,
        failedStatementAbortsTransaction: db.name === "postgres",
        checkConstraints: true,
        concurrentTransactions: db.name !== "sqlite",
        validatesRequired: true,
      },
      transaction: async (fn) => {
        await current.$transaction((tx) => fn(ops(() => tx as unknown as Extended, db.name)));
      },
      begin: () => begin(current, db.name),
      runMigration: () => Promise.reject(new Error("Prisma runs migrations in its schema engine, not through the client")),
      findOrder: async (id) => plain(await opened.client.order.findUnique({ where: { id } })),
      findOrderByNumber: async (number) => plain(await opened.client.order.findUnique({ where: { number } })),
      detach: () => {
        current = opened.client as unknown as Extended;
      },
      close: () => opened.drop(),
    };
  };
}

// Prisma has no "begin": an interactive transaction held open until the caller ends it.
async function begin(prisma: Extended, dialect: PrismaDatabase["name"]): Promise<OpenTransaction> {
  let end!: (commit: boolean) => void;
  const ended = new Promise<boolean>((resolve) => (end = resolve));
  let ready!: (tx: Extended) => void;
  const started = new Promise<Extended>((resolve) => (ready = resolve));
  const done = prisma.$transaction(async (tx) => {
    ready(tx as unknown as Extended);
    if (!(await ended)) throw new Error("rolled back by the test");
  }, { timeout: 60_000 });
  const settled = done.then(() => undefined, (error: unknown) => error);
  const tx = await Promise.race([started, done.then(() => { throw new Error("transaction ended before it began"); })]);
  return {
    ...ops(() => tx, dialect),
    commit: async () => {
      end(true);
      const error = await settled;
      if (error) throw error;
    },
    rollback: async () => {
      end(false);
      await settled;
    },
  };
}

function ops(client: () => Extended, dialect: PrismaDatabase["name"]): OrderOps {
  return {
    insertOrder: async (order) => plain(await client().order.create({ data: { customerId: null, note: null, ...order } }))!,
    insertOrderWithoutNumber: (qty) => client().order.create({ data: { qty } as never }),
    insertOrderWithLines: async (order, lines) =>
      plain(await client().order.create({ data: { ...order, lines: { create: lines as { sku: string; qty: number }[] } } }))!,
    updateOrder: async (id, changes) => {
      await client().order.update({ where: { id }, data: changes });
    },
    deleteOrder: async (id) => {
      await client().order.delete({ where: { id } });
    },
    upsertOrder: async (order) => {
      await client().order.upsert({ where: { number: order.number }, create: order, update: { qty: order.qty } });
    },
    bulkUpdateOrders: async (minQty, note) => {
      await client().order.updateMany({ where: { qty: { gte: minQty } }, data: { note } });
    },
    bulkRenumber: async (from, to) => {
      await client().order.updateMany({ where: { number: from }, data: { number: to } });
    },
    bulkDeleteOrders: async (minQty) => {
      await client().order.deleteMany({ where: { qty: { gte: minQty } } });
    },
    insertCustomer: async (customer) => {
      const saved = await client().customer.create({ data: customer });
      return { id: saved.id, email: saved.email, passwordHash: saved.passwordHash };
    },
    insertCustomerWithoutEmail: (passwordHash) => client().customer.create({ data: { passwordHash } as never }),
    updateCustomer: async (id, changes) => {
      await client().customer.update({ where: { id }, data: changes });
    },
    deleteCustomer: async (id) => {
      await client().customer.delete({ where: { id } });
    },
    bulkUpdateCustomers: async (criteria, set) => {
      await client().customer.updateMany({ where: customerWhere(criteria), data: set });
    },
    bulkDeleteCustomers: async (criteria) => {
      await client().customer.deleteMany({ where: customerWhere(criteria) });
    },
    builderUpdateCustomers: async (criteria, set) => {
      const { sql, values } = rawUpdate(criteria, set, dialect);
      await client().$executeRawUnsafe(sql, ...values);
    },
    savepoint: async (fn) => {
      await client().$transaction((inner) => fn(ops(() => inner as unknown as Extended, dialect)));
    },
  };
}

function customerWhere({ anyOf, ...all }: CustomerCriteria): Record<string, unknown> {
  return anyOf ? { ...all, OR: anyOf } : all;
}

// The same update in SQL, for `$executeRawUnsafe`: the adapter then sees only the statement.
function rawUpdate({ anyOf, ...all }: CustomerCriteria, set: Record<string, unknown>, dialect: PrismaDatabase["name"]) {
  const values: unknown[] = [];
  const q = (name: string) => (dialect === "mariadb" ? `\`${name}\`` : `"${name}"`);
  const param = (value: unknown) => (values.push(value), dialect === "postgres" ? `$${values.length}` : "?");
  const sets = Object.entries(set).map(([field, value]) => `${q(field)} = ${param(value)}`);
  const conditions = Object.entries(all).map(([field, value]) => `${q(field)} = ${param(value)}`);
  if (anyOf) conditions.push(`(${anyOf.map((group) => Object.entries(group).map(([f, v]) => `${q(f)} = ${param(v)}`).join(" AND ")).join(" OR ")})`);
  return { sql: `UPDATE ${q("Customer")} SET ${sets.join(", ")} WHERE ${conditions.join(" AND ")}`, values };
}

function plain(order: { id: number; number: string; qty: number; customerId: number | null; note: string | null } | null): OrderRow | null {
  return order && { id: order.id, number: order.number, qty: order.qty, customerId: order.customerId, note: order.note };
}

/** The contract tests Prisma opts out of, by name, with the reason. */
export const PRISMA_SKIPS: Readonly<Record<string, string>> = {
  "lifecycle.migrations-silent": "Prisma migrations run in its schema engine (prisma migrate), never through the client, so no client extension sees them",
};
