import type { Row } from "@koper/core";
import type { PrismaFailure } from "./failures.ts";
import { isRecord } from "./nested-args.ts";
import type { Probe, Probed } from "./nested-probes.ts";
import type { ModelInfo } from "./schema.ts";
import type { Placement } from "./TransactionTracker.ts";

type Args = Record<string, unknown>;
type Delegate = Record<string, (args: unknown) => Promise<unknown>>;
type Client = Record<string, unknown> & { $transaction: (items: Promise<unknown>[]) => Promise<unknown[]> };

/** A call's arguments with the key fields selected, and the fields to take out of its result again. */
export interface Selected {
  args: Args;
  added: string[];
}

/** The result as the caller asked for it: without the fields `withColumns` added. */
export function unselect<T>(selected: Selected | undefined, result: T): T {
  if (!selected) return result;
  for (const row of Array.isArray(result) ? result : [result]) {
    if (typeof row === "object" && row !== null) for (const field of selected.added) delete (row as Row)[field];
  }
  return result;
}

/** What to read before a write: the rows `args.where` selects (`before`), and the nested probes. */
export interface Reads {
  before: boolean;
  probes: readonly Probe[];
}

/** A write's result and what was read before it (undefined: not read). */
export interface ReadThenWritten {
  result: unknown;
  before: Row[] | undefined;
  probed: Probed | undefined;
}

/**
 * Reads rows before a write, in the write's transaction: the row before an update
 * (`captureBefore`), whether an upsert's row existed (which tells its insert from its update),
 * and the nested rows `nestedProbes` asks about.
 */
export class RowReader {
  readonly #base: Client;
  // The client-wide `omit` (`new PrismaClient({ omit })`), by delegate name: Prisma keeps it as `_globalOmit`.
  readonly #clientOmit: Record<string, unknown> | undefined;

  /** `base` is the client below Koper's extension: its transactions do not come back through the hook. */
  constructor(base: unknown) {
    this.#base = base as Client;
    const omit = (base as { _globalOmit?: unknown })._globalOmit;
    this.#clientOmit = isRecord(omit) ? omit : undefined;
  }

  /**
   * The scalar fields the client-wide `omit` leaves out of `model`'s results. Koper never asks for
   * them on its own (an omitted field is often a secret): an event holds one only where the call
   * itself asks for it (`select: { passwordHash: true }`, `omit: { passwordHash: false }`).
   */
  clientOmitted(model: ModelInfo): string[] {
    const fields = this.#clientOmit?.[delegateName(model)];
    return isRecord(fields) ? Object.keys(fields).filter((field) => fields[field] === true && model.scalars.has(field)) : [];
  }

  /**
   * Makes sure the result carries every scalar field (the event's `data`/`before` is the whole
   * row, the key included) even when the caller `select`s or `omit`s some; undefined when it does
   * anyway (most calls: nothing to change, nothing allocated). `unselect` takes them out again.
   * Under a `select` of a computed field (a result extension), only the key fields are added.
   */
  withColumns(model: ModelInfo, args: Args): Selected | undefined {
    if (args.select === undefined && args.omit === undefined) return undefined;
    const select = args.select as Record<string, unknown> | undefined | null;
    const omit = args.omit as Record<string, unknown> | undefined | null;
    // A select naming a result extension's computed field: Prisma computes it from the row Koper
    // returns, and a field it needs may be one Koper would take out again. Only the key is added.
    const fields = select && Object.keys(select).some((field) => !model.scalars.has(field) && !model.relations.has(field) && field !== "_count") ? model.key : [...model.scalars];
    const omitted = this.#clientOmit ? this.clientOmitted(model) : NONE;
    const added = fields.filter((field) => !omitted.includes(field) && (select ? !select[field] : Boolean(omit?.[field])));
    if (added.length === 0) return undefined;
    const next: Args = { ...args };
    if (select) next.select = { ...select, ...Object.fromEntries(added.map((f) => [f, true])) };
    else next.omit = { ...omit, ...Object.fromEntries(added.map((f) => [f, false])) };
    return { args: next, added };
  }

  /**
   * Reads what `reads` asks (the rows `args.where` selects, the probes), then runs the write, in
   * one transaction: the caller's, or (autocommit) a batch transaction on the base client, which
   * re-issues the write there. A batch of the caller's cannot take an extra query: nothing is read.
   */
  async readThenWrite(place: Placement, model: ModelInfo, operation: string, args: Args, query: (args: unknown) => Promise<unknown>, reads: Reads, seen: { before?: Row[] } = {}): Promise<ReadThenWritten> {
    if (place.kind === "batch") return { result: await query(args), before: undefined, probed: undefined };
    if (place.kind === "itx") {
      const client = place.client as Client;
      // `seen` keeps what was read when the write then fails: a failed upsert's branch.
      const before = reads.before ? (seen.before = await read(client, model, operation, this.#readArgs(model, args))) : undefined;
      const found: unknown[] = [];
      for (const probe of reads.probes) found.push(await probeOf(client, probe));
      return { result: await query(args), before, probed: probedOf(reads.probes, found) };
    }
    // A batch: the reads and the write in one transaction, without an interactive one's overhead.
    const target = delegate(this.#base, model);
    const first = reads.before ? [readOf(target, operation, this.#readArgs(model, args))] : [];
    const found = await this.#base.$transaction([...first, ...reads.probes.map((probe) => probeOf(this.#base, probe)), target[operation]!(args)]);
    const result = found.pop();
    return { result, before: reads.before ? rowsOf(found[0]) : undefined, probed: probedOf(reads.probes, found.slice(first.length)) };
  }

  // The read of the rows before a write: its `where`, and the fields the client-wide `omit` leaves
  // out that the write's result holds (the call asked for them), so `before` has the fields `data` has.
  #readArgs(model: ModelInfo, args: Args): Args {
    const where = args.where ?? {};
    if (!this.#clientOmit) return { where };
    const select = isRecord(args.select) ? args.select : undefined;
    const omit = isRecord(args.omit) ? args.omit : undefined;
    const asked = this.clientOmitted(model).filter((field) => (select ? Boolean(select[field]) : omit?.[field] === false));
    return asked.length > 0 ? { where, omit: Object.fromEntries(asked.map((field) => [field, false])) } : { where };
  }

  /**
   * Which branch a failed upsert took: whether its row existed (read before it in its transaction,
   * or, in autocommit, where the read rolled back with the write, read again now). Read again only
   * when the database refused the upsert (a constraint, a record not found): after a validation
   * error nothing ran, and after a lost connection the read would fail too. Undefined in a batch,
   * when not read, or when the read fails too.
   */
  async upsertBranch(place: Placement, model: ModelInfo, args: Args, before: Row[] | undefined, failure: PrismaFailure): Promise<boolean | undefined> {
    if (before) return before.length > 0;
    if (place.kind !== "autocommit" || !(failure.fromDatabase || failure.info.code === "P2025")) return undefined;
    try {
      return (await read(this.#base, model, "upsert", { where: args.where ?? {} })).length > 0;
    } catch {
      return undefined;
    }
  }
}

async function read(client: Client, model: ModelInfo, operation: string, where: Args): Promise<Row[]> {
  return rowsOf(await readOf(delegate(client, model), operation, where));
}

// `read`: the `where` (and `omit`) of the rows to read.
function readOf(target: Delegate, operation: string, read: Args): Promise<unknown> {
  return operation === "updateManyAndReturn" ? target.findMany!(read) : target.findUnique!(read);
}

// Whether a nested item's row exists, and its key: the fields a bulk event's criteria name.
function probeOf(client: Client, probe: Probe): Promise<unknown> {
  const key = probe.model.key;
  return delegate(client, probe.model).findFirst!({ where: probe.where, ...(key.length > 0 ? { select: Object.fromEntries(key.map((field) => [field, true])) } : {}) });
}

function probedOf(probes: readonly Probe[], found: unknown[]): Probed | undefined {
  if (probes.length === 0) return undefined;
  const probed: Probed = new Map();
  for (const [i, probe] of probes.entries()) probed.set(probe.item, (found[i] as Row | null | undefined) ?? null);
  return probed;
}

function rowsOf(found: unknown): Row[] {
  if (Array.isArray(found)) return found as Row[];
  return found ? [found as Row] : [];
}

function delegate(client: Client, model: ModelInfo): Delegate {
  return client[delegateName(model)] as Delegate;
}

function delegateName(model: ModelInfo): string {
  return model.name.charAt(0).toLowerCase() + model.name.slice(1);
}

const NONE: readonly string[] = Object.freeze([]);
