import { isSilenced, type Action, type ChangeCapture, type ChangeDraft, type Row, type TxHandle } from "@koper/core";
import { changedFields } from "./changed-fields.ts";
import { columnsOf, matching, singleRow, uniqueAsWhere, whereOf, type Criteria, type DraftFactory } from "./drafts.ts";
import { PrismaAdapterError } from "./errors.ts";
import { failureDrafts } from "./failure-drafts.ts";
import { describeFailure, type PrismaFailure } from "./failures.ts";
import { failedNestedRows, insertedRows, NO_NESTED, planNested, withIncludes, type NestedPlan } from "./nested.ts";
import { nestedProbes, NO_PROBES, type Probe, type Probed } from "./nested-probes.ts";
import { rawSavepointOf, rawStatementOf, rawWriteOf, type RawStatement, type RawWrite } from "./raw.ts";
import { unselect, type RowReader, type Selected } from "./RowReader.ts";
import type { ModelInfo } from "./schema.ts";
import { handleOf, type Placement, type PrismaPromise, type PrismaTxInfo, type TransactionTracker } from "./TransactionTracker.ts";

/** What a query extension's hook receives. */
export interface Operation {
  model?: string | undefined;
  operation: string;
  args: unknown;
  query: (args: unknown) => Promise<unknown>;
  __internalParams?: { transaction?: PrismaTxInfo } | undefined;
}

/** What the capture needs from `koperPrisma`. */
export interface CaptureDeps {
  capture: ChangeCapture;
  models: Map<string, ModelInfo>;
  drafts: DraftFactory;
  tracker: TransactionTracker;
  reader: RowReader;
  wanted: (model: ModelInfo) => boolean;
  wantsBefore: (model: string) => boolean;
  bulk: boolean;
  failures: boolean;
  /** Whether this failure leaves the transaction unable to commit. */
  aborts: (failure: PrismaFailure) => boolean;
  placeholder: (index: number) => string;
  /** Prisma's `activeProvider` (postgresql, mysql, sqlite, …). */
  provider: string;
  onError: (error: unknown) => void;
}

type Args = Record<string, unknown>;
type Write = (args: unknown) => Promise<unknown>;

const ROW_WRITES = new Set(["create", "update", "upsert", "delete", "createManyAndReturn", "updateManyAndReturn"]);
const BULK_WRITES: Record<string, Action> = { createMany: "insert", updateMany: "update", deleteMany: "delete" };
const RAW_WRITES = new Set(["$executeRaw", "$executeRawUnsafe"]);

/** The model operations that write: the extension hooks these alone, reads never pass through it. */
export const MODEL_WRITES: readonly string[] = [...ROW_WRITES, ...Object.keys(BULK_WRITES)];
/** The client operations that write. */
export const CLIENT_WRITES: readonly string[] = [...RAW_WRITES];

type RawTarget = { write: RawWrite; model: ModelInfo | undefined };

/** What is known of a refused write beyond its error. */
type Refusal = { nested?: NestedPlan; existed?: boolean | undefined; failure?: PrismaFailure };

/** Translates each Prisma write into change drafts for Koper's capture. */
export class PrismaCapture {
  readonly #deps: CaptureDeps;
  readonly #byTable = new Map<string, ModelInfo>();
  #warnedUnseen = false;

  constructor(deps: CaptureDeps) {
    this.#deps = deps;
    for (const model of deps.models.values()) this.#byTable.set(model.table, model);
  }

  /**
   * The query hook of the write operations (`MODEL_WRITES`, `CLIENT_WRITES`; reads never reach
   * it). Decides once per call whether Koper captures it; a captured write outside any transaction
   * (a model write, or a raw INSERT/UPDATE/DELETE on a captured table) is re-issued, with an outbox
   * or audit configured, in a transaction of its own, so its rows commit with it. Raw statements
   * Koper does not capture (DDL, `CREATE INDEX CONCURRENTLY`) keep running outside a transaction.
   */
  handle(op: Operation): Promise<unknown> {
    if (isSilenced()) return op.query(op.args); // Koper's own statements (outbox, audit, relay)
    const operation = op.operation;
    if (RAW_WRITES.has(operation)) return this.#raw(op);
    const isRow = ROW_WRITES.has(operation);
    if (!isRow && !(operation in BULK_WRITES)) return op.query(op.args);
    const model = op.model ? this.#deps.models.get(op.model) : undefined;
    if (!model || !this.#deps.wanted(model)) return op.query(op.args);
    if (this.#ownTransaction(op)) return this.#deps.tracker.inOwnTransaction((transaction) => this.#model(sentIn(op, transaction), model, isRow));
    return this.#model(op, model, isRow);
  }

  // An autocommit write, with a writer (outbox, audit) whose rows must commit with it.
  #ownTransaction(op: Operation): boolean {
    return this.#deps.capture.writesInTransaction && op.__internalParams?.transaction === undefined;
  }

  #model(op: Operation, model: ModelInfo, isRow: boolean): Promise<unknown> {
    const place = this.#place(op);
    if (!place) return op.query(op.args);
    const args = (op.args ?? {}) as Args;
    if (!isRow) return this.#bulk(place, model, op.operation, args, op.query);
    return this.#row(place, model, op.operation, args, op.query);
  }

  #place(op: Operation): Placement | undefined {
    const place = this.#deps.tracker.place(op.__internalParams?.transaction);
    if (place.kind !== "unseen") return place;
    if (!this.#warnedUnseen) this.#deps.onError(this.#unseenError(op));
    this.#warnedUnseen = true;
    return undefined;
  }

  #row(place: Placement, model: ModelInfo, operation: string, args: Args, query: Write): Promise<unknown> {
    const selected = this.#deps.reader.withColumns(model, args);
    if (operation === "create") return this.#create(place, model, args, selected, query);
    return this.#rowWrite(place, model, operation, args, selected, query);
  }

  async #rowWrite(place: Placement, model: ModelInfo, operation: string, args: Args, selected: Selected | undefined, query: Write): Promise<unknown> {
    const sent = selected?.args ?? args;
    const reads = operation === "upsert" || (operation !== "delete" && operation !== "createManyAndReturn" && this.#deps.wantsBefore(model.name));
    const probes = this.#probes(model, operation, args);
    let result: unknown;
    let before: Row[] | undefined;
    let probed: Probed | undefined;
    // What an upsert read before failing tells which branch it took (only an upsert needs it kept).
    const seen: { before?: Row[] } | undefined = operation === "upsert" ? {} : undefined;
    try {
      if (reads || probes.length > 0) ({ result, before, probed } = await this.#deps.reader.readThenWrite(place, model, operation, sent, query, { before: reads, probes }, seen));
      else result = await query(sent);
    } catch (error) {
      const failure = describeFailure(error, model.name, operation, this.#deps.provider);
      const existed = operation === "upsert" ? await this.#deps.reader.upsertBranch(place, model, args, seen?.before, failure) : undefined;
      throw await this.#refused(place, model, operation, args, error, { existed, failure });
    }
    const drafts = this.#deps.drafts;
    const written =
      operation === "delete" ? [drafts.deleted(model, result as Row)]
      : operation === "createManyAndReturn" ? (result as Row[]).map((row) => drafts.inserted(model, row))
      : this.#updated(place, model, operation, args, result, before, probed);
    const recording = this.#record(place, written);
    if (recording) await recording;
    return unselect(selected, result);
  }

  async #create(place: Placement, model: ModelInfo, args: Args, selected: Selected | undefined, query: Write): Promise<unknown> {
    const { drafts, models } = this.#deps;
    const sent = selected?.args ?? args;
    const plan = planNested(models, model, "create", sent, drafts, this.#deps.wanted);
    // Relations not shown in the result (bulk): what their connectOrCreate finds, read before.
    const probes = plan.touched.length > plan.inserted.length ? this.#probes(model, "create", sent) : NO_PROBES;
    let row: Row;
    let probed: Probed | undefined;
    try {
      const call = withIncludes(sent, plan);
      const written = probes.length > 0 ? await this.#deps.reader.readThenWrite(place, model, "create", call, query, { before: false, probes }) : undefined;
      row = (written ? written.result : await query(call)) as Row;
      probed = written?.probed;
    } catch (error) {
      throw await this.#refused(place, model, "create", sent, error, { nested: plan });
    }
    let recording: Promise<void> | undefined;
    if (plan === NO_NESTED) recording = this.#record(place, [drafts.inserted(model, row)]);
    else {
      // Planned again with the row: a nested connect or create names the new parent's key.
      const bulk = plan.bulk.length > 0 || probed ? planNested(models, model, "create", sent, drafts, this.#deps.wanted, row, probed).bulk : plan.bulk;
      const nested = insertedRows(models, model, plan, row, drafts);
      recording = this.#record(place, [...nested.before, drafts.inserted(model, row), ...nested.after, ...this.#nestedBulk(bulk)]);
    }
    if (recording) await recording;
    return unselect(selected, row);
  }

  // update, upsert, updateManyAndReturn: `before` is what the reader found (undefined when not read).
  #updated(place: Placement, model: ModelInfo, operation: string, args: Args, result: unknown, before: Row[] | undefined, probed: Probed | undefined): ChangeDraft[] {
    const { drafts } = this.#deps;
    const keep = this.#deps.wantsBefore(model.name);
    if (operation === "upsert") {
      const row = result as Row;
      // Which branch ran is unknown in a batch: its nested writes publish nothing (documented).
      // `set` and `changes` are the row's columns (an `include`d relation is not one).
      if (place.kind === "batch") return [drafts.bulk(model, "update", { kind: "where", where: uniqueAsWhere(model, (args.where ?? {}) as Row) }, columnsOf(model, row), 1)];
      const existed = before?.[0];
      // Only the branch that ran wrote its nested rows.
      const nested = this.#nested(model, { data: existed ? args.update : args.create }, row, probed);
      const main = existed ? drafts.updated(model, row, keep ? existed : undefined, changedFields(model, args.update, probed)) : drafts.inserted(model, row);
      return [main, ...nested];
    }
    const changes = changedFields(model, args.data, probed);
    const out: ChangeDraft[] = [];
    for (const row of (Array.isArray(result) ? result : [result]) as Row[]) out.push(drafts.updated(model, row, keep ? matching(model, before, row) : undefined, changes));
    if (operation !== "updateManyAndReturn") for (const draft of this.#nested(model, args, result as Row, probed)) out.push(draft);
    return out;
  }

  // The bulk events of an update's nested writes (the result shows none of their rows).
  // `parent` is the updated row: a nested updateMany/deleteMany's criteria name its foreign key.
  #nested(model: ModelInfo, args: Args, parent: Row, probed: Probed | undefined): ChangeDraft[] {
    return this.#nestedBulk(planNested(this.#deps.models, model, "update", args, this.#deps.drafts, this.#deps.wanted, parent, probed).bulk);
  }

  // What to read before a write about its nested items (with `bulk` off, only what its own `changes` need).
  #probes(model: ModelInfo, operation: string, args: Args): readonly Probe[] {
    return nestedProbes(this.#deps.models, model, operation, args, this.#deps.wanted, this.#deps.bulk);
  }

  async #bulk(place: Placement, model: ModelInfo, operation: string, args: Args, query: Write): Promise<unknown> {
    if (!this.#deps.bulk) return query(args);
    const action = BULK_WRITES[operation]!;
    let result: { count?: unknown };
    try {
      result = (await query(args)) as { count?: unknown };
    } catch (error) {
      throw await this.#refused(place, model, operation, args, error);
    }
    const affected = typeof result?.count === "number" ? result.count : null;
    const set = action === "delete" ? undefined : singleRow(args.data);
    const criteria = action === "insert" ? null : whereOf(args);
    const recording = this.#record(place, [this.#deps.drafts.bulk(model, action, criteria, set, affected)]);
    if (recording) await recording;
    return result;
  }

  // The raw write Koper captures, and its model (or only its table, when no model maps it).
  #rawTarget(statement: RawStatement): RawTarget | undefined {
    const write = this.#deps.bulk ? rawWriteOf(statement) : undefined;
    const model = write ? this.#byTable.get(write.table) : undefined;
    if (!write || (model && !this.#deps.wanted(model))) return undefined;
    return { write, model };
  }

  // `$executeRaw`/`$executeRawUnsafe`: its statement is built once, then read as a savepoint or a write.
  async #raw(op: Operation): Promise<unknown> {
    const statement = rawStatementOf(op.args, this.#deps.placeholder);
    const savepoint = statement && rawSavepointOf(statement);
    if (savepoint) {
      const result = await op.query(op.args);
      await this.#deps.tracker.savepoint(op.__internalParams?.transaction, savepoint).catch(this.#deps.onError);
      return result;
    }
    const target = statement && this.#rawTarget(statement);
    if (!target) return op.query(op.args);
    if (this.#ownTransaction(op)) return this.#deps.tracker.inOwnTransaction((transaction) => this.#rawWrite(sentIn(op, transaction), target));
    return this.#rawWrite(op, target);
  }

  async #rawWrite(op: Operation, { write, model }: RawTarget): Promise<unknown> {
    const place = this.#place(op);
    if (!place) return op.query(op.args);
    const criteria: Criteria = { kind: "sql", sql: write.sql, parameters: write.parameters };
    const entity = model ?? write.table;
    let count: unknown;
    try {
      count = await op.query(op.args);
    } catch (error) {
      await this.#failedDraft(place, this.#deps.drafts.bulk(entity, write.action, criteria, undefined, null), error, undefined, op.operation);
      throw error;
    }
    await this.#record(place, [this.#deps.drafts.bulk(entity, write.action, criteria, undefined, typeof count === "number" ? count : null)]);
    return count;
  }

  /**
   * A write Prisma or the database refused: publishes its failure events and gives back Prisma's
   * error unchanged, for the caller to rethrow. `nested` names the rows of a nested create the
   * failure may belong to instead of the parent; `existed`, a failed upsert's branch when known;
   * `failure`, the error described already.
   */
  async #refused(place: Placement, model: ModelInfo, operation: string, args: Args, error: unknown, known: Refusal = {}): Promise<unknown> {
    const { nested, existed } = known;
    const failure = known.failure ?? describeFailure(error, model.name, operation, this.#deps.provider);
    const culprits = nested ? failedNestedRows(this.#deps.models, model, args, nested, failure, this.#deps.drafts) : [];
    await this.#failed(place, culprits.length > 0 ? culprits : failureDrafts(this.#deps.drafts, model, operation, args, { bulk: this.#deps.bulk, existed }), failure);
    return error;
  }

  async #failedDraft(place: Placement, draft: ChangeDraft | undefined, error: unknown, model: string | undefined, operation: string): Promise<void> {
    try {
      await this.#failed(place, [draft], describeFailure(error, model, operation, this.#deps.provider));
    } catch (own) {
      this.#deps.onError(own);
    }
  }

  async #failed(place: Placement, drafts: (ChangeDraft | undefined)[], failure: PrismaFailure): Promise<void> {
    try {
      const handle = handleOf(place);
      if (handle && this.#deps.aborts(failure)) this.#deps.capture.poison(handle);
      if (!this.#deps.failures) return;
      for (const draft of drafts) if (draft) await this.#deps.capture.fail(handle, draft, failure.error, failure.info);
    } catch (own) {
      this.#deps.onError(own);
    }
  }

  #nestedBulk(drafts: ChangeDraft[]): ChangeDraft[] {
    return this.#deps.bulk ? drafts : [];
  }

  /**
   * Records a write's drafts. In a transaction they are only buffered: nothing to wait for
   * (undefined, so the caller skips an await). In autocommit the caller waits for the producer's
   * queue (not the broker): that is the backpressure.
   */
  #record(place: Placement, drafts: ChangeDraft[]): Promise<void> | undefined {
    if (place.kind === "batch") return void place.batch.items.push({ index: place.index, drafts });
    const { capture, onError } = this.#deps;
    const outer = handleOf(place);
    if (outer) {
      for (const draft of drafts) capture.recordBuffered(outer, draft)?.catch(onError);
      return undefined;
    }
    if (drafts.length > 1) return this.#together(drafts);
    return drafts.length === 1 ? capture.recordBuffered(undefined, drafts[0]!)?.catch(onError) : undefined;
  }

  // One autocommit call that wrote several rows (a nested create) committed them together.
  async #together(drafts: ChangeDraft[]): Promise<void> {
    const { capture, onError } = this.#deps;
    const handle = {};
    capture.begin(handle);
    for (const draft of drafts) capture.recordBuffered(handle, draft)?.catch(onError);
    await capture.commit(handle).catch(onError);
  }

  #unseenError(op: Operation): unknown {
    return PrismaAdapterError.transactionNotSeen(op.model, op.operation);
  }
}

// The autocommit write `op`, sent in `transaction` instead (BEGIN, the write, the writers' rows,
// COMMIT): its query continues down Prisma's pipeline as it would have, in that transaction.
function sentIn(op: Operation, transaction: unknown): Operation {
  const query = (args: unknown) => {
    const pending = op.query(args) as unknown as Partial<PrismaPromise>;
    if (typeof pending.requestTransaction !== "function") throw PrismaAdapterError.internalsChanged("a query's requestTransaction");
    return Promise.resolve(pending.requestTransaction(transaction));
  };
  return { ...op, query, __internalParams: { transaction: transaction as PrismaTxInfo } };
}
