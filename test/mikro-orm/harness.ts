import type { Koper } from "@koper/core";
import { koperMikroOrm, sqlClientOf, type KoperMikroOrmHandle } from "@koper/mikro-orm";
import type { EntityManager, MikroORM } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
import type { SqlEntityManager } from "@mikro-orm/sql";
import type { AdapterHarness, ContractAdapterOptions, CustomerCriteria, HarnessFactory, OpenTransaction, OrderOps, OrderRow } from "../contract/harness.ts";
import { openOrm, type Database } from "./databases.ts";
import type { Entities } from "./entities.ts";

type Row = Record<string, unknown>;

/** The contract's harness for MikroORM on `db`: persist/flush for row writes, nativeUpdate/nativeDelete for bulk. */
export function mikroHarness(db: Database): HarnessFactory {
  return async (koper: Koper, options: ContractAdapterOptions = {}): Promise<AdapterHarness> => {
    let migrate: ((ops: OrderOps) => Promise<void>) | undefined;
    class ContractMigration extends Migration {
      override async up() {
        await migrate?.(ops(() => this.getEntityManager() as unknown as EntityManager, entities));
      }
    }
    const { orm, entities, drop } = await openOrm(db, {
      migrations: { migrationsList: [{ name: "Contract", class: ContractMigration }], silent: true, snapshot: false },
    } as never);
    let handle: KoperMikroOrmHandle;
    try {
      handle = koperMikroOrm(orm, koper, options);
    } catch (error) {
      await drop();
      throw error;
    }
    const fork = () => orm.em.fork();
    return {
      ...ops(fork, entities),
      orm: "mikro-orm",
      sqlClient: sqlClientOf(orm.em),
      capabilities: {
        dialect: db.name,
        failedStatementAbortsTransaction: db.name === "postgres",
        checkConstraints: true,
        concurrentTransactions: db.name !== "sqlite",
        validatesRequired: true,
      },
      transaction: (fn) => fork().transactional((em) => fn(ops(() => em, entities))),
      begin: () => begin(orm, entities),
      runMigration: async (fn) => {
        migrate = fn;
        await orm.migrator.up();
      },
      findOrder: async (id) => plain(await fork().findOne(entities.Order, { id })),
      findOrderByNumber: async (number) => plain(await fork().findOne(entities.Order, { number })),
      detach: () => handle.detach(),
      close: async () => {
        handle.detach();
        await drop();
      },
    };
  };
}

async function begin(orm: MikroORM, entities: Entities): Promise<OpenTransaction> {
  const em = orm.em.fork();
  await em.begin();
  return { ...ops(() => em, entities), commit: () => em.commit(), rollback: () => em.rollback() };
}

function ops(emOf: () => EntityManager, entities: Entities): OrderOps {
  const { Order, Customer } = entities;
  const newOrder = (em: EntityManager, order: Parameters<OrderOps["insertOrder"]>[0]) =>
    em.create(Order, { number: order.number, qty: order.qty, note: order.note ?? null, customer: order.customerId ?? null, createdAt: order.createdAt ?? null } as never);
  return {
    insertOrder: async (order) => {
      const em = emOf();
      const created = newOrder(em, order);
      await em.flush();
      return plain(created)!;
    },
    insertOrderWithoutNumber: async (qty) => {
      const em = emOf();
      em.create(Order, { qty } as never);
      await em.flush();
    },
    insertOrderWithLines: async (order, lines) => {
      const em = emOf();
      const created = newOrder(em, order);
      for (const line of lines) created.lines.add(em.create(entities.OrderLine, { ...line, order: created } as never));
      await em.flush();
      return plain(created)!;
    },
    updateOrder: async (id, changes) => {
      const em = emOf();
      Object.assign(await em.findOneOrFail(Order, { id }), changes);
      await em.flush();
    },
    deleteOrder: async (id) => {
      const em = emOf();
      em.remove(await em.findOneOrFail(Order, { id }));
      await em.flush();
    },
    upsertOrder: async (order) => {
      await emOf().upsert(Order, { number: order.number, qty: order.qty } as never, { onConflictFields: ["number"] } as never);
    },
    insertOrderByStatement: async (order) => {
      await emOf().insert(Order, { number: order.number, qty: order.qty, note: order.note ?? null, customer: order.customerId ?? null } as never);
    },
    builderInsertOrder: async (order) => {
      const values = { number: order.number, qty: order.qty, note: order.note ?? null, customer: order.customerId ?? null };
      await (emOf() as unknown as SqlEntityManager).createQueryBuilder(Order).insert(values as never).execute();
    },
    bulkUpdateOrders: async (minQty, note) => {
      await emOf().nativeUpdate(Order, { qty: { $gte: minQty } }, { note });
    },
    bulkRenumber: async (from, to) => {
      await emOf().nativeUpdate(Order, { number: from }, { number: to });
    },
    bulkDeleteOrders: async (minQty) => {
      await emOf().nativeDelete(Order, { qty: { $gte: minQty } });
    },
    insertCustomer: async (customer) => {
      const em = emOf();
      const created = em.create(Customer, customer);
      await em.flush();
      return { id: created.id, email: created.email, passwordHash: created.passwordHash };
    },
    deleteCustomer: async (id) => {
      const em = emOf();
      em.remove(await em.findOneOrFail(Customer, { id }));
      await em.flush();
    },
    insertCustomerWithoutEmail: async (passwordHash) => {
      const em = emOf();
      em.create(Customer, { passwordHash } as never);
      await em.flush();
    },
    updateCustomer: async (id, changes) => {
      const em = emOf();
      Object.assign(await em.findOneOrFail(Customer, { id }), changes);
      await em.flush();
    },
    bulkUpdateCustomers: async (criteria, set) => {
      await emOf().nativeUpdate(Customer, customerWhere(criteria), set);
    },
    bulkDeleteCustomers: async (criteria) => {
      await emOf().nativeDelete(Customer, customerWhere(criteria));
    },
    builderUpdateCustomers: async (criteria, set) => {
      await (emOf() as unknown as SqlEntityManager).createQueryBuilder(Customer).update(set).where(customerWhere(criteria)).execute();
    },
    savepoint: (fn) => emOf().transactional((inner) => fn(ops(() => inner, entities))),
  };
}

// MikroORM's OR is `$or`, next to the fields every row must match.
function customerWhere({ anyOf, ...all }: CustomerCriteria): Row {
  return anyOf ? { ...all, $or: anyOf } : all;
}

function plain(entity: object | null): OrderRow | null {
  if (!entity) return null;
  const order = entity as Row;
  const customer = order.customer as { id?: number } | null | undefined;
  return { id: order.id as number, number: order.number as string, qty: order.qty as number, customerId: customer?.id ?? null, note: (order.note as string | null) ?? null };
}
