import type { DataSource, DataSourceOptions } from "typeorm";
import { defineEntities, type Entities } from "./entities.ts";
import { loadTypeorm, type TypeormLine, type TypeormModule } from "./orm.ts";
import { SERVERS as HOSTS, serverSkip, suffix } from "../support/servers.ts";

export { suffix };

/** One database the TypeORM tests run on. */
export interface Database {
  name: "sqlite" | "postgres" | "mariadb";
  /** The TypeORM copy the tests run on (1.x unless a file asks for 0.3). */
  orm: TypeormModule;
  /** DataSource options without entities. */
  options: DataSourceOptions;
  dateType: "datetime" | "timestamp";
  /** Why the tests are skipped (server unreachable, not under CI), or undefined to run them. */
  skip: string | undefined;
}

const SERVERS = {
  postgres: { type: "postgres", host: HOSTS.postgres.host, port: HOSTS.postgres.port, username: HOSTS.postgres.user, password: HOSTS.postgres.password, database: HOSTS.postgres.database },
  mariadb: { type: "mariadb", host: HOSTS.mariadb.host, port: HOSTS.mariadb.port, username: HOSTS.mariadb.user, password: HOSTS.mariadb.password, database: HOSTS.mariadb.database },
} as const;

/** A database to test on; for a server, checks it is reachable (under CI=true an unreachable one fails). */
export async function database(name: Database["name"], line: TypeormLine = "1.x"): Promise<Database> {
  const orm = await loadTypeorm(line);
  if (name === "sqlite") return { name, orm, options: { type: "sqljs" }, dateType: "datetime", skip: undefined };
  const skip = await serverSkip(name, "TypeORM");
  return { name, orm, options: SERVERS[name], dateType: name === "postgres" ? "timestamp" : "datetime", skip };
}

/** A DataSource on `db` with fresh tables; not yet initialized. */
export function makeDataSource(db: Database, extra: Partial<DataSourceOptions> = {}): { dataSource: DataSource; entities: Entities } {
  const entities = defineEntities(suffix(), db.dateType, db.orm);
  const dataSource = new db.orm.DataSource({
    ...db.options,
    entities: [entities.Customer, entities.Order, entities.OrderLine],
    synchronize: true,
    logging: false,
    ...extra,
  } as DataSourceOptions);
  return { dataSource, entities };
}

/** Drops the tables of `entities` and closes the DataSource. */
export async function dropAndClose(dataSource: DataSource, entities: Entities): Promise<void> {
  if (!dataSource.isInitialized) return;
  const runner = dataSource.createQueryRunner();
  try {
    for (const table of entities.tables) await runner.dropTable(table, true);
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}
