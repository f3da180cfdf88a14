import type { Koper } from "@koper/core";
import { Extensions, type Types } from "@prisma/client/runtime/client";
import { DraftFactory } from "./drafts.ts";
import { PrismaAdapterError } from "./errors.ts";
import type { describeFailure } from "./failures.ts";
import { beforeFilter, entityFilter, type KoperPrismaOptions } from "./options.ts";
import { CLIENT_WRITES, MODEL_WRITES, PrismaCapture, type Operation } from "./PrismaCapture.ts";
import { RowReader } from "./RowReader.ts";
import { parseSchema, type ModelInfo } from "./schema.ts";
import { TransactionTracker } from "./TransactionTracker.ts";
import { dialectOf, executorOf, sqlClientOf } from "./sql-client.ts";

// Marks Koper's `$transaction`: a client that has it already carries the extension.
const APPLIED = Symbol.for("koper.prisma.applied");

interface EngineConfig {
  inlineSchema?: unknown;
  activeProvider?: unknown;
}

type AnyClient = Record<string, unknown> & {
  _engineConfig?: EngineConfig;
  $transaction: (this: unknown, arg: unknown, options?: unknown) => Promise<unknown>;
  $extends: (extension: unknown) => unknown;
};

/**
 * The Prisma client extension that turns every write into a data event:
 * `const prisma = base.$extends(koperPrisma(koper, options))`. Apply it last, so that the
 * client your code uses (and its `$transaction`) is the one it returns.
 */
export function koperPrisma(koper: Koper, options: KoperPrismaOptions = {}): KoperPrismaExtension {
  if (typeof (koper as { capture?: { record?: unknown } } | null)?.capture?.record !== "function") throw PrismaAdapterError.notAKoper(koper);
  return Extensions.defineExtension((client) => {
    const base = client as unknown as AnyClient;
    if ((base.$transaction as { [APPLIED]?: true } | undefined)?.[APPLIED]) throw PrismaAdapterError.alreadyApplied();
    const schema = base._engineConfig?.inlineSchema;
    if (typeof schema !== "string") throw PrismaAdapterError.notAPrismaClient();
    const models = modelsOf(schema, options);
    const provider = String(base._engineConfig?.activeProvider ?? "");
    const onError = options.onError ?? ((error: unknown) => koper.logger.error("[koper/prisma] capturing a write failed; the write itself is unaffected", { error }));
    if (options.audit) koper.useAudit(sqlClientOf(base, provider), options.audit === true ? {} : options.audit);
    if (options.outbox) koper.attachOutbox(sqlClientOf(base, provider), options.outbox === true ? {} : options.outbox);
    const tracker = new TransactionTracker(koper.capture, onError, (tx) => executorOf(tx, dialectOf(provider)), { client: base, $transaction: base.$transaction });
    const capture = new PrismaCapture({
      capture: koper.capture,
      models,
      drafts: new DraftFactory(options.database),
      tracker,
      reader: new RowReader(base),
      wanted: entityFilter(options),
      wantsBefore: beforeFilter(options),
      bulk: options.bulk ?? true,
      failures: options.failures ?? true,
      aborts: abortsTransaction(provider, options.failedStatementAbortsTransaction),
      provider,
      placeholder: provider === "postgresql" || provider === "cockroachdb" ? (i) => `$${i}` : () => "?",
      onError,
    });
    const original = base.$transaction;
    const $transaction = Object.assign(
      function $transaction(this: unknown, arg: unknown, transactionOptions?: unknown) {
        const self = Extensions.getExtensionContext(this) as object;
        return tracker.run(original, self, arg, transactionOptions);
      },
      { [APPLIED]: true as const },
    );
    // One hook per write operation, not `$allOperations`: Prisma runs a query extension's machinery
    // (a deep copy of the arguments, two more PrismaPromises) only for the operations it names, so
    // reads go straight to the engine.
    const hook = (params: unknown) => capture.handle(params as Operation);
    return client.$extends({
      name: "koper",
      query: { $allModels: Object.fromEntries(MODEL_WRITES.map((operation) => [operation, hook])), ...Object.fromEntries(CLIENT_WRITES.map((operation) => [operation, hook])) },
      client: { $transaction },
    });
  }) as unknown as KoperPrismaExtension;
}

/**
 * What `koperPrisma` returns, for `$extends`: it adds no model methods, result fields or client
 * methods to the types (its `$transaction` keeps Prisma's signature), so the extended client is
 * typed exactly like the client it extends.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KoperPrismaExtension = (client: any) => { $extends: { extArgs: Types.Extensions.InternalArgs<{}, {}, {}, {}> } };

function modelsOf(schema: string, options: KoperPrismaOptions): Map<string, ModelInfo> {
  const models = parseSchema(schema);
  const known = [...models.keys()];
  const check = (option: string, names: readonly string[] | undefined) => {
    for (const name of names ?? []) if (!models.has(name)) throw PrismaAdapterError.unknownModel(option, name, known);
  };
  check("entities", options.entities);
  check("exclude", options.exclude);
  if (Array.isArray(options.captureBefore)) check("captureBefore", options.captureBefore);
  check("keys", Object.keys(options.keys ?? {}));
  const wanted = entityFilter(options);
  for (const model of models.values()) {
    const key = options.keys?.[model.name];
    if (key) model.key = [...key];
    if (model.key.length === 0 && wanted(model)) throw PrismaAdapterError.unknownKey(model.name);
  }
  return models;
}

/**
 * Which failures leave a transaction that cannot commit. PostgreSQL (and CockroachDB) refuse every
 * statement after a failed one and turn COMMIT into ROLLBACK; MySQL/MariaDB undo only the failed
 * statement, except a deadlock, after which InnoDB has rolled the whole transaction back; SQLite
 * undoes only the statement. A call Prisma refused itself (validation, P2025) sent nothing that failed.
 */
function abortsTransaction(provider: string, override: boolean | undefined): (failure: ReturnType<typeof describeFailure>) => boolean {
  if (override !== undefined) return (failure) => override && failure.fromDatabase;
  if (provider === "postgresql" || provider === "cockroachdb") return (failure) => failure.fromDatabase;
  if (provider === "mysql") return (failure) => failure.deadlock;
  return () => false;
}
