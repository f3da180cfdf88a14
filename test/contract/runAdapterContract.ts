import { Koper } from "@koper/core";
import { afterEach, beforeEach, describe } from "vitest";
import { Collector } from "./collector.ts";
import { auditContract } from "./contract-audit.ts";
import { autocommitContract } from "./contract-autocommit.ts";
import { bulkContract } from "./contract-bulk.ts";
import { failuresContract } from "./contract-failures.ts";
import { inTransactionContract } from "./contract-in-transaction.ts";
import { outboxContract } from "./contract-outbox.ts";
import { lifecycleContract } from "./contract-lifecycle.ts";
import { optionsContract } from "./contract-options.ts";
import { redactionContract } from "./contract-redaction.ts";
import { rowsContract } from "./contract-rows.ts";
import { transactionsContract } from "./contract-transactions.ts";
import type { AdapterHarness, HarnessFactory } from "./harness.ts";
import { namedTests } from "./named.ts";
import type { ContractWorld } from "./world.ts";

/** Options of one contract run. */
export interface ContractOptions {
  /** Skip every test, with this reason (a server unreachable on a developer's machine). */
  skip?: string | undefined;
  /**
   * Contract tests this adapter × database cannot pass, by name (`"lifecycle.migrations-silent"`),
   * each with its reason. They show as skipped, with the reason, in every run.
   */
  skipTests?: Readonly<Record<string, string>>;
}

/**
 * Registers the adapter contract: the behaviour every ORM adapter must show on every database,
 * written once in terms of plain operations (`AdapterHarness`) and run by each adapter × database.
 * An adapter's test file calls it with a factory that attaches the adapter to the given Koper:
 * `runAdapterContract("mikro-orm/postgres", (koper, options) => harness(koper, options), { skip, skipTests })`.
 * Each test gets a new Koper (in-process transport, `Customer.passwordHash` redacted, service
 * "contract"), a real `@DataListener` (`Collector`) and a new harness (fresh tables).
 */
export function runAdapterContract(name: string, makeHarness: HarnessFactory, options: ContractOptions = {}): void {
  describe.skipIf(options.skip !== undefined)(`adapter contract: ${name}`, () => {
    let koper: Koper;
    let listener: Collector;
    let db: AdapterHarness;
    let publishedIds: string[];
    let extra: AdapterHarness[];

    beforeEach(async () => {
      koper = new Koper({ redact: { Customer: ["passwordHash"] }, service: "contract" });
      listener = new Collector();
      koper.register(listener);
      publishedIds = [];
      extra = [];
      koper.on("published", (event) => publishedIds.push(...event.payload.ids));
      await koper.start();
      db = await makeHarness(koper);
    });

    afterEach(async () => {
      await koper.stop();
      for (const harness of extra) await harness.close();
      await db?.close();
    });

    const world = (): ContractWorld => ({
      koper,
      listener,
      db,
      publishedIds,
      harness: async (adapterOptions) => {
        const harness = await makeHarness(koper, adapterOptions);
        extra.push(harness);
        return harness;
      },
    });
    const { test, check } = namedTests(name, options.skipTests ?? {});
    rowsContract(world, test);
    failuresContract(world, test);
    transactionsContract(world, test);
    inTransactionContract(world, test);
    auditContract(world, test);
    outboxContract(world, test);
    autocommitContract(world, test);
    bulkContract(world, test);
    optionsContract(world, test);
    lifecycleContract(world, test);
    redactionContract(makeHarness, test);
    check();
  });
}
