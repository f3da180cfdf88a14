import { Socket } from "node:net";
import type { DataSource, DataSourceOptions } from "typeorm";
import { defineEntities, type Entities } from "./entities.ts";
import { loadTypeorm, type TypeormLine, type TypeormModule } from "./orm.ts";

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
  postgres: { type: "postgres", host: "127.0.0.1", port: 5432, username: "postgres", password: "", database: "test" },
  mariadb: { type: "mariadb", host: "127.0.0.1", port: 3306, username: "root", password: "", database: "test" },
} as const;

/** A database to test on; for a server, checks it is reachable (under CI=true an unreachable one fails). */
export async function database(name: Database["name"], line: TypeormLine = "1.x"): Promise<Database> {
  const orm = await loadTypeorm(line);
  if (name === "sqlite") return { name, orm, options: { type: "sqljs" }, dateType: "datetime", skip: undefined };
  const options = SERVERS[name];
  const reachable = await canConnect(options.host, options.port);
  let skip: string | undefined;
  if (!reachable) {
    const reason = `${name} is not reachable on ${options.host}:${options.port}`;
    if (process.env.CI === "true") throw new Error(`${reason}, and CI=true: a missing server is a failure, not a skip.`);
    skip = reason;
    console.warn(`\n⚠️  SKIPPING the TypeORM ${name} tests: ${reason}. Start the server to run them.\n`);
  }
  return { name, orm, options, dateType: name === "postgres" ? "timestamp" : "datetime", skip };
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** A random table suffix: no two tests share a table. */
export function suffix(): string {
  return Math.random().toString(36).slice(2, 10);
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
