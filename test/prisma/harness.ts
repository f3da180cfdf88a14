import type { Koper } from "@koper/core";
import { koperPrisma, type KoperPrismaOptions } from "@koper/prisma";
import type { AdapterHarness, HarnessFactory, OrderOps, OrderRow } from "../contract/harness.ts";
import type { Client, PrismaDatabase } from "./databases.ts";

/** The client `koperPrisma` returns (typed like the generated client it extends). */
export function extend(client: Client, koper: Koper, options?: KoperPrismaOptions) {
  return client.$extends(koperPrisma(koper, options));
}

/** The extended client, as the tests use it. */
export type Extended = ReturnType<typeof extend>;

/**
 * The contract's harness for Prisma on `db`: `create`/`update`/`delete` for row writes,
 * `updateMany`/`deleteMany` for bulk. `captureBefore` is on: the contract wants `before` on updates.
 */
export function prismaHarness(db: PrismaDatabase): HarnessFactory {
  return async (koper: Koper): Promise<AdapterHarness> => {
    const opened = await db.open();
    const prisma = extend(opened.client, koper, { captureBefore: true });
    return {
      ...ops(prisma),
      orm: "prisma",
      capabilities: { failedStatementAbortsTransaction: db.name === "postgres", checkConstraints: true },
      transaction: async (fn) => {
        await prisma.$transaction((tx) => fn(ops(tx as unknown as Extended)));
      },
      findOrder: async (id) => plain(await opened.client.order.findUnique({ where: { id } })),
      findOrderByNumber: async (number) => plain(await opened.client.order.findUnique({ where: { number } })),
      close: () => opened.drop(),
    };
  };
}

function ops(prisma: Extended): OrderOps {
  return {
    insertOrder: async (order) => plain(await prisma.order.create({ data: { customerId: null, note: null, ...order } }))!,
    insertOrderWithoutNumber: (qty) => prisma.order.create({ data: { qty } as never }),
    updateOrder: async (id, changes) => {
      await prisma.order.update({ where: { id }, data: changes });
    },
    deleteOrder: async (id) => {
      await prisma.order.delete({ where: { id } });
    },
    bulkUpdateOrders: async (minQty, note) => {
      await prisma.order.updateMany({ where: { qty: { gte: minQty } }, data: { note } });
    },
    bulkDeleteOrders: async (minQty) => {
      await prisma.order.deleteMany({ where: { qty: { gte: minQty } } });
    },
    insertCustomer: async (customer) => {
      const saved = await prisma.customer.create({ data: customer });
      return { id: saved.id, email: saved.email, passwordHash: saved.passwordHash };
    },
    deleteCustomer: async (id) => {
      await prisma.customer.delete({ where: { id } });
    },
    savepoint: async (fn) => {
      await prisma.$transaction((inner) => fn(ops(inner as unknown as Extended)));
    },
  };
}

function plain(order: { id: number; number: string; qty: number; customerId: number | null; note: string | null } | null): OrderRow | null {
  return order && { id: order.id, number: order.number, qty: order.qty, customerId: order.customerId, note: order.note };
}
