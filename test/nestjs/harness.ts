import { randomUUID } from "node:crypto";
import { Koper } from "@koper/core";
import type { INestApplication } from "@nestjs/common";
import { getDataSourceToken } from "@nestjs/typeorm";
import { Test } from "@nestjs/testing";
import type { DataSource, DataSourceOptions } from "typeorm";
import { database } from "../typeorm/databases.ts";
import { appModule, Seen, SmsService, type AppOptions, type Entities } from "./app.ts";

/** DataSource options of a test database, or why it is skipped. */
export async function dbOptions(name: "sqlite" | "postgres"): Promise<{ options: DataSourceOptions; skip: string | undefined }> {
  const db = await database(name);
  return { options: db.options, skip: db.skip };
}

/** A booted app with handles on what the tests look at. */
export interface TestApp {
  app: INestApplication;
  koper: Koper;
  seen: Seen;
  sms: SmsService;
  dataSource: DataSource;
  entities: Entities;
  /** Closes the app (koper.stop, then the ORM) and drops the tables. */
  close(): Promise<void>;
}

/** Boots the test app with the SMS gateway replaced by a fake, as a user's test would. */
export async function bootApp(options: AppOptions): Promise<TestApp> {
  const { module, entities } = appModule(options);
  const fake = new SmsService();
  const moduleRef = await Test.createTestingModule({ imports: [module] }).overrideProvider(SmsService).useValue(fake).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  const dataSource = app.get<DataSource>(getDataSourceToken());
  const tables = [entities.Order, entities.AuditEntry].map((e) => dataSource.getMetadata(e).tableName);
  let closed = false;
  return {
    app,
    koper: app.get(Koper),
    seen: app.get(Seen),
    sms: fake,
    dataSource,
    entities,
    close: async () => {
      if (closed) return;
      closed = true;
      if (options.db.type !== "sqljs" && dataSource.isInitialized) {
        for (const table of tables) await dataSource.query(`DROP TABLE IF EXISTS "${table}"`);
      }
      await app.close();
    },
  };
}

/** A new order body. */
export function newOrder(number: string, extra: Record<string, unknown> = {}) {
  return { id: randomUUID(), number, qty: 1, ...extra };
}
