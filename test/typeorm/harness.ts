import type { Koper } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import type { DataSource, EntityManager, FindOptionsWhere } from "typeorm";
import type { AdapterHarness, CustomerCriteria, HarnessFactory, OrderOps, OrderRow } from "../contract/harness.ts";
import { dropAndClose, makeDataSource, type Database } from "./databases.ts";
import type { Entities } from "./entities.ts";
import type { TypeormModule } from "./orm.ts";

/** The contract's harness for TypeORM on `db`: `save`/`remove` for row writes, `update`/`delete` for bulk. */
export function typeormHarness(db: Database): HarnessFactory {
  return async (koper: Koper): Promise<AdapterHarness> => {
    const { dataSource, entities } = makeDataSource(db);
    await dataSource.initialize();
    await addMissingCheck(db, dataSource, entities);
    const handle = koperTypeorm(dataSource, koper);
    return {
      ...ops(dataSource.manager, entities, db.orm),
      orm: "typeorm",
      capabilities: { failedStatementAbortsTransaction: db.name === "postgres", checkConstraints: true },
      transaction: (fn) => dataSource.transaction((manager) => fn(ops(manager, entities, db.orm))),
      findOrder: async (id) => plain(await dataSource.manager.findOneBy(entities.Order, { id })),
      findOrderByNumber: async (number) => plain(await dataSource.manager.findOneBy(entities.Order, { number })),
      close: async () => {
        handle.detach();
        await dropAndClose(dataSource, entities);
      },
    };
  };
}

function ops(manager: EntityManager, { Order, Customer }: Entities, orm: TypeormModule): OrderOps {
  const { Brackets, MoreThanOrEqual } = orm;
  return {
    insertOrder: async (order) => plain(await manager.save(manager.create(Order, { customerId: null, note: null, ...order })))!,
    insertOrderWithoutNumber: (qty) => manager.save(manager.create(Order, { qty, number: null as unknown as string })),
    updateOrder: async (id, changes) => {
      const order = await manager.findOneByOrFail(Order, { id });
      await manager.save(Object.assign(order, changes));
    },
    deleteOrder: async (id) => {
      await manager.remove(await manager.findOneByOrFail(Order, { id }));
    },
    bulkUpdateOrders: async (minQty, note) => {
      await manager.update(Order, { qty: MoreThanOrEqual(minQty) }, { note });
    },
    bulkDeleteOrders: async (minQty) => {
      await manager.delete(Order, { qty: MoreThanOrEqual(minQty) });
    },
    insertCustomer: async (customer) => {
      const saved = await manager.save(manager.create(Customer, customer));
      return { id: saved.id, email: saved.email, passwordHash: saved.passwordHash };
    },
    deleteCustomer: async (id) => {
      await manager.remove(await manager.findOneByOrFail(Customer, { id }));
    },
    insertCustomerWithoutEmail: (passwordHash) => manager.save(manager.create(Customer, { passwordHash, email: null as unknown as string })),
    updateCustomer: async (id, changes) => {
      const customer = await manager.findOneByOrFail(Customer, { id });
      await manager.save(Object.assign(customer, changes));
    },
    bulkUpdateCustomers: async (criteria, set) => {
      // TypeORM before 0.3.23 reads an array criteria as primary keys: no OR through update() there.
      if (criteria.anyOf && arraysAreIds(orm)) {
        const { anyOf, ...all } = criteria;
        const or = new Brackets((qb) => anyOf.forEach((group) => qb.orWhere(group)));
        await manager.createQueryBuilder().update(Customer).set(set).where(all).andWhere(or).execute();
      } else await manager.update(Customer, customerWhere(criteria), set);
    },
    bulkDeleteCustomers: async (criteria) => {
      await manager.delete(Customer, customerWhere(criteria));
    },
    builderUpdateCustomers: async (criteria, set) => {
      const qb = manager.createQueryBuilder().update(Customer).set(set);
      const { anyOf, ...all } = criteria;
      const column = (field: string) => manager.connection.driver.escape(field);
      let n = 0;
      for (const [field, value] of Object.entries(all)) qb.andWhere(`${column(field)} = :p${n}`, { [`p${n++}`]: value });
      if (anyOf) {
        qb.andWhere(new Brackets((or) => {
          for (const group of anyOf) {
            or.orWhere(new Brackets((and) => {
              for (const [field, value] of Object.entries(group)) and.andWhere(`${column(field)} = :p${n}`, { [`p${n++}`]: value });
            }));
          }
        }));
      }
      await qb.execute();
    },
    savepoint: (fn) => manager.transaction((inner) => fn(ops(inner, { Order, Customer } as Entities, orm))),
  };
}

function arraysAreIds(orm: TypeormModule): boolean {
  return !/isPrimitiveCriteria|normalizeAndValidateWhereCriteria/.test(String(orm.EntityManager.prototype.update));
}

// TypeORM's OR is an array of conditions: the fields every group must match go into each.
function customerWhere({ anyOf, ...all }: CustomerCriteria): FindOptionsWhere<{ email: string; passwordHash: string }> | FindOptionsWhere<{ email: string; passwordHash: string }>[] {
  return anyOf ? anyOf.map((group) => ({ ...all, ...group })) : all;
}

function plain(order: { id: number; number: string; qty: number; customerId: number | null; note: string | null } | null): OrderRow | null {
  return order && { id: order.id, number: order.number, qty: order.qty, customerId: order.customerId, note: order.note };
}

// TypeORM's schema sync skips @Check on MySQL/MariaDB; MariaDB enforces CHECK, so add it by hand.
async function addMissingCheck(db: Database, dataSource: DataSource, entities: Entities): Promise<void> {
  if (db.name !== "mariadb") return;
  const table = dataSource.getMetadata(entities.Order).tableName;
  await dataSource.query(`ALTER TABLE \`${table}\` ADD CONSTRAINT \`chk_${table}_qty\` CHECK (qty >= 0)`);
}
