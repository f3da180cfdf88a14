import { DataListener, Koper, type DataEvent, type Row } from "@koper/core";
import { koperTypeorm, type KoperTypeormHandle, type KoperTypeormOptions } from "@koper/typeorm";
import type { DataSource } from "typeorm";
import { afterEach } from "vitest";
import { Collector } from "../contract/collector.ts";
import { dropAndClose, makeDataSource, suffix, type Database } from "./databases.ts";
import type { Entities } from "./entities.ts";

/** Collects the events of the cascade child `OrderLine`. */
@DataListener({ entity: "OrderLine" })
export class LineCollector {
  readonly events: DataEvent[] = [];
  readonly failures: DataEvent[] = [];
  onInsertOrderLine(_line: Row, event: DataEvent) { this.events.push(event); }
  onInsertOrderLine_X(_line: Row, event: DataEvent) { this.failures.push(event); }
}

/** One TypeORM-specific test's world: a started Koper with listeners, fresh tables, the adapter attached. */
export interface Setup {
  koper: Koper;
  orders: Collector;
  lines: LineCollector;
  dataSource: DataSource;
  entities: Entities;
  handle: KoperTypeormHandle;
}

/** Options of `setup` beyond the adapter's. */
export interface SetupOptions {
  /** Attach before `dataSource.initialize()` (schema sync then runs with Koper attached). */
  attachBeforeInit?: boolean;
  extra?: Parameters<typeof makeDataSource>[1];
}

/** Registers cleanup after each test and returns the function that sets a test up on `db`. */
export function useSetup(db: Database) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const setup = async (options: KoperTypeormOptions = {}, { attachBeforeInit = false, extra = {} }: SetupOptions = {}): Promise<Setup> => {
    const koper = new Koper();
    const orders = new Collector();
    const lines = new LineCollector();
    koper.register(orders, lines);
    await koper.start();
    const { dataSource, entities } = makeDataSource(db, extra);
    let handle: KoperTypeormHandle | undefined;
    if (attachBeforeInit) handle = koperTypeorm(dataSource, koper, options);
    await dataSource.initialize();
    handle ??= koperTypeorm(dataSource, koper, options);
    const attached = handle;
    cleanups.push(async () => {
      await koper.stop();
      attached.detach();
      await dropAndClose(dataSource, entities);
    });
    return { koper, orders, lines, dataSource, entities, handle: attached };
  };
  return { setup, cleanups };
}

/** A unique order number. */
export const num = (): string => `T-${suffix()}`;
