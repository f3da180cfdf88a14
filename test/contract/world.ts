import type { Koper } from "@koper/core";
import type { Collector } from "./collector.ts";
import type { AdapterHarness } from "./harness.ts";

/** What each contract test works with; made fresh before every test by `runAdapterContract`. */
export interface ContractWorld {
  koper: Koper;
  listener: Collector;
  db: AdapterHarness;
  /** Ids of every event Koper published so far, in order (from the "published" lifecycle event). */
  publishedIds: string[];
}

/** A unique order number. */
export const num = (): string => `N-${Math.random().toString(36).slice(2, 10)}`;
