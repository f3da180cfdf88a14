import { randomUUID } from "node:crypto";
import { Koper, dataListener, type DataEvent, type KoperOptions } from "@koper/core";
import { koperTypeorm, type KoperTypeormOptions } from "@koper/typeorm";
import type { DataSource, DataSourceOptions } from "typeorm";
import { afterEach } from "vitest";
import { database, suffix, type Database } from "../../typeorm/databases.ts";
import type { TypeormLine } from "../../typeorm/orm.ts";
import { defineBlog, type Blog } from "./model.ts";

/** The entity names a blog's events carry, the junction of `Article.tags` included. */
export const BLOG_ENTITIES = ["User", "Tag", "Article", "Comment", "Bookmark", "ArticleTags"] as const;

let line: TypeormLine = "1.x";

/** Makes the regressions loaded after it run on `next` (see typeorm03-regressions.test.ts). */
export function regressionsOn(next: TypeormLine): void {
  line = next;
}

/** The databases every regression runs on, with the TypeORM line to use (1.x unless `regressionsOn` said otherwise). */
export async function blogDatabases(on: TypeormLine = line): Promise<Database[]> {
  return Promise.all((["sqlite", "postgres", "mariadb"] as const).map((name) => database(name, on)));
}

/** One regression test's blog: a started Koper recording every event, fresh tables, the adapter attached. */
export interface BlogWorld {
  koper: Koper;
  /** Every event handed to a handler, in arrival order. */
  events: DataEvent[];
  dataSource: DataSource;
  blog: Blog;
  /** Stops Koper (everything published is handled first) and returns the events. */
  settle(): Promise<DataEvent[]>;
}

/** Registers cleanup after each test and returns the function that builds a blog world on `db`. */
export function useBlog(db: Database) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (koperOptions: KoperOptions = {}, adapterOptions: KoperTypeormOptions = {}, extra: Partial<DataSourceOptions> = {}): Promise<BlogWorld> => {
    const koper = new Koper(koperOptions);
    const events: DataEvent[] = [];
    koper.register(recorder(events));
    await koper.start();
    const blog = defineBlog(suffix(), db);
    const dataSource = new db.orm.DataSource({
      ...db.options,
      entities: Object.values(blog),
      synchronize: true,
      logging: false,
      ...(db.name === "postgres" ? { poolSize: 12 } : db.name === "mariadb" ? { poolSize: 12 } : {}),
      ...extra,
    } as DataSourceOptions);
    await dataSource.initialize();
    const handle = koperTypeorm(dataSource, koper, adapterOptions);
    cleanups.push(async () => {
      await koper.stop();
      handle.detach();
      await dropBlog(dataSource);
    });
    return { koper, events, dataSource, blog, settle: async () => (await koper.stop(), events) };
  };
}

// A listener of every blog entity and every handler kind, built with the function API.
function recorder(events: DataEvent[]): object {
  const handlers: Record<string, (...args: unknown[]) => void> = {};
  for (const entity of BLOG_ENTITIES) {
    for (const action of ["Insert", "Update", "Delete"]) {
      for (const failed of ["", "_X"]) {
        handlers[`on${action}${entity}${failed}`] = (_row, event) => void events.push(event as DataEvent);
        handlers[`onBulk${action}${entity}${failed}`] = (event) => void events.push(event as DataEvent);
      }
    }
  }
  return dataListener()({ entity: BLOG_ENTITIES, ...(handlers as object) });
}

// Junction tables first, then children before parents: foreign keys allow no other order.
async function dropBlog(dataSource: DataSource): Promise<void> {
  if (!dataSource.isInitialized) return;
  const order = ["junction", "Comment", "Article", "Tag", "User", "Bookmark"];
  const tables = [...dataSource.entityMetadatas].sort(
    (a, b) => order.indexOf(a.tableType === "junction" ? "junction" : a.name) - order.indexOf(b.tableType === "junction" ? "junction" : b.name),
  );
  const runner = dataSource.createQueryRunner();
  try {
    for (const metadata of tables) await runner.dropTable(metadata.tablePath, true);
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

/** A new app-set primary key. */
export const uuid = (): string => randomUUID();

/** The events of one entity (and, optionally, action). */
export function of(events: DataEvent[], entity: string, action?: DataEvent["action"]): DataEvent[] {
  return events.filter((e) => e.entity === entity && (!action || e.action === action));
}
