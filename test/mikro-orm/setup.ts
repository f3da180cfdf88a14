import { Koper, type KoperOptions } from "@koper/core";
import { koperMikroOrm, type KoperMikroOrmHandle, type KoperMikroOrmOptions } from "@koper/mikro-orm";
import type { MikroORM, Options } from "@mikro-orm/core";
import { afterEach } from "vitest";
import { Collector } from "../contract/collector.ts";
import { openOrm, suffix, type Database } from "./databases.ts";
import type { Entities } from "./entities.ts";

/** One MikroORM-specific test's world: a started Koper with a listener, fresh tables, the adapter attached. */
export interface Setup {
  koper: Koper;
  listener: Collector;
  orm: MikroORM;
  entities: Entities;
  handle: KoperMikroOrmHandle | undefined;
}

/** Options of `setup` beyond the adapter's. */
export interface SetupOptions {
  koper?: KoperOptions;
  /** MikroORM options (e.g. `subscribers`, `implicitTransactions`). */
  orm?: (koper: Koper) => Partial<Options>;
  /** Attach with `koperMikroOrm` (default true). */
  attach?: boolean;
}

/** Registers cleanup after each test and returns the function that sets a test up on `db`. */
export function useSetup(db: Database) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (options: KoperMikroOrmOptions = {}, { koper: koperOptions = {}, orm: ormOptions, attach = true }: SetupOptions = {}): Promise<Setup> => {
    const koper = new Koper(koperOptions);
    const listener = new Collector();
    koper.register(listener);
    await koper.start();
    const { orm, entities, drop } = await openOrm(db, ormOptions?.(koper) ?? {});
    const handle = attach ? koperMikroOrm(orm, koper, options) : undefined;
    cleanups.push(async () => {
      await koper.stop();
      handle?.detach();
      await drop();
    });
    return { koper, listener, orm, entities, handle };
  };
}

/** A unique order number. */
export const num = (): string => `M-${suffix()}`;
