import { z } from "zod";

/** The envelope version this build writes and reads. */
export const SPEC_VERSION = 1 as const;

/** What happened to the row. */
export const Action = z.enum(["insert", "update", "delete"]);
/** What happened to the row. */
export type Action = z.infer<typeof Action>;

/** Whether the write was committed, or failed (then `error` says why). */
export const Outcome = z.enum(["committed", "failed"]);
/** Whether the write was committed, or failed (then `error` says why). */
export type Outcome = z.infer<typeof Outcome>;

/**
 * A row's values by column/property name. Checked as "a plain object" and passed through as it is:
 * decoded JSON has only string keys, and copying every row (as z.record does) halved validation speed.
 */
export const Row = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  { message: "expected an object of column values" },
);
/** A row's values by column/property name. */
export type Row = z.infer<typeof Row>;

/** The normalized failure of a write; `original` keeps what the driver said. */
export const EventError = z.object({
  code: z.string().min(1),
  message: z.string(),
  name: z.string(),
  original: z
    .object({
      code: z.string().optional(),
      constraint: z.string().optional(),
      table: z.string().optional(),
      detail: z.string().optional(),
    })
    .optional(),
});
/** The normalized failure of a write; `original` keeps what the driver said. */
export type EventError = z.infer<typeof EventError>;

/** Where the write came from. */
export const Source = z.object({
  orm: z.string().min(1),
  database: z.string().optional(),
  schema: z.string().optional(),
  table: z.string().optional(),
  service: z.string().optional(),
});
/** Where the write came from. */
export type Source = z.infer<typeof Source>;

/**
 * What a criteria write selected its rows by, as a tagged union (switch on `kind`):
 * - `where`: property → value or condition, as the ORM's criteria object says it, possibly nested
 *   (`$or`/`$and`/`$not`, `OR`/`AND`/`NOT`, operator objects such as `{ $gt: 5 }` or `{ in: [...] }`).
 *   Redaction reaches every occurrence of a redacted property, at any depth.
 * - `sql`: the statement's WHERE clause and the parameters it binds (nothing else), where the ORM
 *   only has the SQL. Parameters bound to a redacted column are masked; once any entity has
 *   redaction rules, so is every parameter whose column the adapter could not tell, and every
 *   string literal in `sql`.
 */
export const BulkCriteria = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("where"), where: Row }),
  z.object({ kind: z.literal("sql"), sql: z.string(), parameters: z.array(z.unknown()) }),
]);
/** What a criteria write selected its rows by: `{ kind: "where", where }` or `{ kind: "sql", sql, parameters }`. */
export type BulkCriteria = z.infer<typeof BulkCriteria>;

/** A write that touched rows by criteria (e.g. `repository.update(where, set)`): no single row is known. */
export const Bulk = z.object({
  /** What selected the rows; null when the adapter cannot tell (e.g. a write of every row). */
  criteria: BulkCriteria.nullable(),
  set: Row.optional(),
  affected: z.number().int().nonnegative().nullable(),
});
/** A write that touched rows by criteria (e.g. `repository.update(where, set)`): no single row is known. */
export type Bulk = z.infer<typeof Bulk>;

/** Epoch milliseconds (fractional where the clock gives sub-millisecond precision). */
const Instant = z.number().nonnegative();

/** The time points of one event; the consumer adds `received` and `handled`. */
export const TimePoints = z.object({
  occurred: Instant,
  committed: Instant.optional(),
  published: Instant.optional(),
  received: Instant.optional(),
  handled: Instant.optional(),
});
/** The time points of one event; the consumer adds `received` and `handled`. */
export type TimePoints = z.infer<typeof TimePoints>;

/** The schema of a data event on the wire, checked by every consumer before a handler sees it. */
export const DataEventSchema = z.object({
  specVersion: z.literal(SPEC_VERSION),
  id: z.uuid(),
  entity: z.string().min(1),
  action: Action,
  outcome: Outcome,
  key: Row.nullable(),
  data: Row.nullable(),
  before: Row.nullable().optional(),
  changes: z.array(z.string()).optional(),
  bulk: Bulk.optional(),
  error: EventError.optional(),
  source: Source,
  transaction: z.object({ id: z.string().min(1), position: z.number().int().nonnegative() }),
  context: z.object({ actor: z.string().optional(), requestId: z.string().optional() }).catchall(z.unknown()),
  trace: z.object({ traceparent: z.string(), tracestate: z.string().optional() }).optional(),
  time: TimePoints,
});

/**
 * One write, as listeners receive it. `T` types `data` and `before`.
 * For insert/update `data` is the row after; for delete `data` is null and `before` the row removed.
 */
export type DataEvent<T = Row> = Omit<z.infer<typeof DataEventSchema>, "data" | "before"> & {
  data: T | null;
  before?: T | null | undefined;
};

/** The schema of a data event: `DataEvent.parse(value)` validates one. */
export const DataEvent = DataEventSchema;
