import type { Koper } from "@koper/core";
import type { Collector } from "./collector.ts";
import type { AdapterHarness, ContractAdapterOptions } from "./harness.ts";

/** What each contract test works with; made fresh before every test by `runAdapterContract`. */
export interface ContractWorld {
  koper: Koper;
  listener: Collector;
  /** The harness attached with the adapter's default options. */
  db: AdapterHarness;
  /** Ids of every event Koper published so far, in order (from the "published" lifecycle event). */
  publishedIds: string[];
  /** Another harness on the same Koper (own tables, own connection), attached with `options`; closed after the test. */
  harness(options: ContractAdapterOptions): Promise<AdapterHarness>;
}

/** A unique order number. */
export const num = (): string => `N-${Math.random().toString(36).slice(2, 10)}`;
