import type { Row } from "@koper/core";
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

/**
 * Reads rows before a write, in the write's transaction: the row before an update
 * (`captureBefore`), and whether an upsert's row existed (which tells its insert from its update).
 */
export class RowReader {
  readonly #base: Client;

  /** `base` is the client below Koper's extension: its transactions do not come back through the hook. */
  constructor(base: unknown) {
    this.#base = base as Client;
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
    const added = fields.filter((field) => (select ? !select[field] : Boolean(omit?.[field])));
    if (added.length === 0) return undefined;
    const next: Args = { ...args };
    if (select) next.select = { ...select, ...Object.fromEntries(added.map((f) => [f, true])) };
    else next.omit = { ...omit, ...Object.fromEntries(added.map((f) => [f, false])) };
    return { args: next, added };
  }

  /**
   * Reads the rows `args.where` selects, then runs the write, in one transaction: the caller's,
   * or (autocommit) a batch transaction on the base client, which re-issues the write there. A
   * batch of the caller's cannot take an extra query: nothing is read.
   */
  async readThenWrite(place: Placement, model: ModelInfo, operation: string, args: Args, query: (args: unknown) => Promise<unknown>, seen: { before?: Row[] } = {}): Promise<{ result: unknown; before: Row[] | undefined }> {
    if (place.kind === "batch") return { result: await query(args), before: undefined };
    if (place.kind === "itx") {
      // `seen` keeps what was read when the write then fails: a failed upsert's branch.
      const before = (seen.before = await read(place.client as Client, model, operation, args));
      return { result: await query(args), before };
    }
    // A batch: the read and the write in one transaction, without an interactive one's overhead.
    const target = delegate(this.#base, model);
    const [found, result] = (await this.#base.$transaction([readOf(target, operation, args), target[operation]!(args)])) as [unknown, unknown];
    return { result, before: rowsOf(found) };
  }

  /** The rows `args.where` selects now, outside any transaction (after a failed autocommit write). */
  readNow(model: ModelInfo, operation: string, args: Args): Promise<Row[]> {
    return read(this.#base, model, operation, args);
  }
}

async function read(client: Client, model: ModelInfo, operation: string, args: Args): Promise<Row[]> {
  return rowsOf(await readOf(delegate(client, model), operation, args));
}

function readOf(target: Delegate, operation: string, args: Args): Promise<unknown> {
  const where = args.where ?? {};
  return operation === "updateManyAndReturn" ? target.findMany!({ where }) : target.findUnique!({ where });
}

function rowsOf(found: unknown): Row[] {
  if (Array.isArray(found)) return found as Row[];
  return found ? [found as Row] : [];
}

function delegate(client: Client, model: ModelInfo): Delegate {
  return client[model.name.charAt(0).toLowerCase() + model.name.slice(1)] as Delegate;
}
