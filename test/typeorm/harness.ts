import type { Koper } from "@koper/core";
import { koperTypeorm, sqlClientOf, type KoperTypeormHandle } from "@koper/typeorm";
import type { DataSource, EntityManager, FindOptionsWhere, MigrationInterface, QueryRunner } from "typeorm";
import type { AdapterHarness, ContractAdapterOptions, CustomerCriteria, HarnessFactory, OpenTransaction, OrderOps, OrderRow } from "../contract/harness.ts";
import { dropAndClose, makeDataSource, suffix, type Database } from "./databases.ts";
import type { Entities } from "./entities.ts";
import type { TypeormModule } from "./orm.ts";

/** The contract's harness for TypeORM on `db`: `save`/`remove` for row writes, `update`/`delete` for bulk. */
export function typeormHarness(db: Database): HarnessFactory {
  return async (koper: Koper, options: ContractAdapterOptions = {}): Promise<AdapterHarness> => {
    const migrationsTable = `migrations_${suffix()}`;
    const { dataSource, entities } = makeDataSource(db, { migrationsTableName: migrationsTable });
    await dataSource.initialize();
    let handle: KoperTypeormHandle;
    try {
      await addMissingCheck(db, dataSource, entities);
      handle = koperTypeorm(dataSource, koper, options);
    } catch (error) {
      await dropAndClose(dataSource, entities);
      throw error;
    }
    let migrated = false;
    return {
      ...ops(dataSource.manager, entities, db.orm),
      orm: "typeorm",
      sqlClient: sqlClientOf(dataSource),
      capabilities: {
        dialect: db.name,
        failedStatementAbortsTransaction: db.name === "postgres",
        checkConstraints: true,
        concurrentTransactions: db.name !== "sqlite",
        validatesRequired: false,
      },
      transaction: (fn) => dataSource.transaction((manager) => fn(ops(manager, entities, db.orm))),
      begin: () => begin(dataSource, entities, db.orm),
      runMigration: async (fn) => {
        migrated = true;
        const migration: MigrationInterface = { name: `Contract${Date.now()}`, up: (runner: QueryRunner) => fn(ops(runner.manager, entities, db.orm)), down: async () => {} };
        dataSource.migrations.push(migration);
        await dataSource.runMigrations();
      },
      findOrder: async (id) => plain(await dataSource.manager.findOneBy(entities.Order, { id })),
      findOrderByNumber: async (number) => plain(await dataSource.manager.findOneBy(entities.Order, { number })),
      detach: () => handle.detach(),
      close: async () => {
        handle.detach();
        if (migrated) await dataSource.query(`DROP TABLE ${dataSource.driver.escape(migrationsTable)}`);
        await dropAndClose(dataSource, entities);
      },
    };
  };
}

async function begin(dataSource: DataSource, entities: Entities, orm: TypeormModule): Promise<OpenTransaction> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  await runner.startTransaction();
  const end = async (how: "commitTransaction" | "rollbackTransaction") => {
    try {
      await runner[how]();
    } finally {
      await runner.release();
    }
  };
  return { ...ops(runner.manager, entities, orm), commit: () => end("commitTransaction"), rollback: () => end("rollbackTransaction") };
}

function ops(manager: EntityManager, entities: Entities, orm: TypeormModule): OrderOps {
  const { Order, Customer } = entities;
  const { Brackets, MoreThanOrEqual } = orm;
  return {
    insertOrder: async (order) => plain(await manager.save(manager.create(Order, { customerId: null, note: null, ...order })))!,
    insertOrderWithoutNumber: (qty) => manager.save(manager.create(Order, { qty, number: null as unknown as string })),
    insertOrderWithLines: async (order, lines) =>
      plain(await manager.save(manager.create(Order, { customerId: null, note: null, ...order, lines: lines.map((line) => ({ ...line, sku: line.sku as string })) })))!,
    updateOrder: async (id, changes) => {
      const order = await manager.findOneByOrFail(Order, { id });
      await manager.save(Object.assign(order, changes));
    },
    deleteOrder: async (id) => {
      await manager.remove(await manager.findOneByOrFail(Order, { id }));
    },
    upsertOrder: async (order) => {
      await manager.upsert(Order, order, ["number"]);
    },
    insertOrderByStatement: async (order) => {
      await manager.insert(Order, { customerId: null, note: null, ...order });
    },
    builderInsertOrder: async (order) => {
      await manager.createQueryBuilder().insert().into(Order).values({ customerId: null, note: null, ...order }).execute();
    },
    bulkUpdateOrders: async (minQty, note) => {
      await manager.update(Order, { qty: MoreThanOrEqual(minQty) }, { note });
    },
    bulkRenumber: async (from, to) => {
      await manager.update(Order, { number: from }, { number: to });
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
    savepoint: (fn) => manager.transaction((inner) => fn(ops(inner, entities, orm))),
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
