import type { Koper, OutboxOptions, SqlClient } from "@koper/core";

/** An order as the contract sees it: plain values by property name, whatever the ORM. */
export interface OrderRow {
  id: number;
  number: string;
  qty: number;
  customerId: number | null;
  note: string | null;
}

/** A customer, with a field the contract redacts. */
export interface CustomerRow {
  id: number;
  email: string;
  passwordHash: string;
}

/** What the contract may ask for when inserting an order. */
export interface NewOrder {
  number: string;
  qty: number;
  customerId?: number | null;
  note?: string | null;
  /** When it was placed: a timestamp column of every contract Order (Prisma's defaults to now, the others' to null). */
  createdAt?: Date;
}

/** A line of an order, saved by cascade with it (`sku` null breaks its NOT NULL column). */
export interface NewLine {
  sku: string | null;
  qty: number;
}

/**
 * Criteria the contract selects customers by: every field given must match and, when `anyOf` is
 * given, at least one of its groups (a nested OR: TypeORM an array of conditions, MikroORM
 * `$or`, Prisma `OR`). An empty object is not allowed.
 */
export interface CustomerCriteria {
  email?: string;
  passwordHash?: string;
  anyOf?: { email?: string; passwordHash?: string }[];
}

/** Customer writes, on the entity whose `passwordHash` (and, in the redaction contract, `email`) is redacted. */
export interface CustomerOps {
  insertCustomer(customer: Omit<CustomerRow, "id">): Promise<CustomerRow>;
  /** Inserts a customer without its required `email` (a NOT NULL column). Must reject. */
  insertCustomerWithoutEmail(passwordHash: string): Promise<unknown>;
  /** Loads the customer and changes the given fields the ORM's usual way (a row update). */
  updateCustomer(id: number, changes: Partial<Omit<CustomerRow, "id">>): Promise<void>;
  /** Deletes one customer the ORM's usual way (loading it first). */
  deleteCustomer(id: number): Promise<void>;
  /** Sets `set` on the customers matching `criteria`, by criteria (one statement, no row loaded), through the ORM's criteria API. */
  bulkUpdateCustomers(criteria: CustomerCriteria, set: Partial<Omit<CustomerRow, "id">>): Promise<void>;
  /** Deletes the customers matching `criteria`, by criteria. */
  bulkDeleteCustomers(criteria: CustomerCriteria): Promise<void>;
  /**
   * The same update as `bulkUpdateCustomers`, through the ORM's query builder, where the adapter
   * sees only SQL (`bulk.criteria.kind === "sql"`). Optional: omit it when the ORM has none.
   */
  builderUpdateCustomers?(criteria: CustomerCriteria, set: Partial<Omit<CustomerRow, "id">>): Promise<void>;
}

/** Writes the contract runs, as one ORM would run them: the same methods inside and outside transactions. */
export interface OrderOps extends CustomerOps {
  /** Inserts one order the ORM's usual way (TypeORM `save`, MikroORM `persist+flush`, Prisma `create`). */
  insertOrder(order: NewOrder): Promise<OrderRow>;
  /** Inserts an order without its required `number` (a NOT NULL column). Must reject. */
  insertOrderWithoutNumber(qty: number): Promise<unknown>;
  /** Inserts an order and its lines in one ORM call that cascades to the lines (entity `OrderLine`, relation `order`). */
  insertOrderWithLines(order: NewOrder, lines: NewLine[]): Promise<OrderRow>;
  /** Loads the order and changes the given fields the ORM's usual way (a row update that knows the row before). */
  updateOrder(id: number, changes: Partial<Pick<OrderRow, "qty" | "note">>): Promise<void>;
  /** Deletes one order the ORM's usual way (a row delete that knows the row before). */
  deleteOrder(id: number): Promise<void>;
  /** Inserts the order, or updates the one with the same `number` (the ORM's upsert, on the unique `number`). */
  upsertOrder(order: NewOrder): Promise<void>;
  /**
   * Inserts one order with the ORM's single-statement insert that skips its unit of work and runs
   * in autocommit outside a transaction (TypeORM `insert`, MikroORM `em.insert`). Optional: omit it
   * when the usual insert is that statement already (Prisma `create`).
   */
  insertOrderByStatement?(order: NewOrder): Promise<void>;
  /** Inserts one order through the ORM's query builder. Optional: omit it when the ORM has none. */
  builderInsertOrder?(order: NewOrder): Promise<void>;
  /** Sets `note` on every order with qty ≥ `minQty`, by criteria (one statement, no row loaded). */
  bulkUpdateOrders(minQty: number, note: string): Promise<void>;
  /** Sets `number` to `to` on the orders whose number is `from`, by criteria. */
  bulkRenumber(from: string, to: string): Promise<void>;
  /** Deletes every order with qty ≥ `minQty`, by criteria. */
  bulkDeleteOrders(minQty: number): Promise<void>;
  /** Runs `fn` in a nested transaction (a savepoint); rejects with `fn`'s error after rolling it back. */
  savepoint(fn: (ops: OrderOps) => Promise<void>): Promise<void>;
}

/** A transaction opened explicitly and ended by the caller (TypeORM QueryRunner, MikroORM `em.begin`). */
export interface OpenTransaction extends OrderOps {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What differs between databases, and the contract must not pretend is the same. */
export interface HarnessCapabilities {
  /** The database under the ORM. */
  dialect: "postgres" | "mariadb" | "sqlite";
  /** A failed statement makes the transaction's COMMIT a ROLLBACK (PostgreSQL). */
  failedStatementAbortsTransaction: boolean;
  /** CHECK constraints are enforced. */
  checkConstraints: boolean;
  /** Two transactions can be open at once, on two connections, with row locks (not embedded SQLite). */
  concurrentTransactions: boolean;
  /**
   * The ORM itself refuses a missing required value before sending SQL (MikroORM's ValidationError):
   * the failure event's code is then `validation_error`, not the database's `not_null_violation`.
   */
  validatesRequired: boolean;
}

/** Adapter options every adapter takes, proven once by the contract; the harness hands them to its adapter. */
export interface ContractAdapterOptions {
  /** Capture only these entities (by entity name). */
  entities?: string[];
  /** Never capture these entities. */
  exclude?: string[];
  /** Capture writes by criteria as bulk events (default true). */
  bulk?: boolean;
  /** Publish failure events (default true). */
  failures?: boolean;
  /** The audit trail, on a table the test creates (`ensureAuditTable`) before writing. */
  audit?: { table: string; entities?: string[] };
  /** The transactional outbox (`outbox: true | {...}` on every adapter). */
  outbox?: OutboxOptions;
}

/**
 * One ORM on one database, with the contract's entities (`Order`, `Customer`, `OrderLine`) on
 * fresh tables, and its adapter attached to the Koper it was created with.
 */
export interface AdapterHarness extends OrderOps {
  readonly capabilities: HarnessCapabilities;
  /** The value of `event.source.orm` this adapter stamps. */
  readonly orm: string;
  /** The adapter's SqlClient on this ORM (`sqlClientOf`): what outbox, inbox and audit write through. */
  readonly sqlClient: SqlClient;
  /** Runs `fn` in a transaction; commits when it resolves, rolls back and rejects when it throws. */
  transaction(fn: (ops: OrderOps) => Promise<void>): Promise<void>;
  /** Opens a transaction on a connection of its own, ended by the caller. */
  begin(): Promise<OpenTransaction>;
  /** Runs `fn`'s writes inside one of the ORM's migrations (through its migration runner). */
  runMigration(fn: (ops: OrderOps) => Promise<void>): Promise<void>;
  /** The order as the database holds it now (read outside any transaction), or null. */
  findOrder(id: number): Promise<OrderRow | null>;
  findOrderByNumber(number: string): Promise<OrderRow | null>;
  /** Detaches the adapter: later writes publish nothing. */
  detach(): void;
  /** Drops the tables and closes the connection. */
  close(): Promise<void>;
}

/**
 * Creates a harness attached to `koper` with the adapter's `options`, on tables no other test uses.
 * When attaching fails (an unknown entity name), it rejects with the adapter's error, leaving nothing behind.
 */
export type HarnessFactory = (koper: Koper, options?: ContractAdapterOptions) => Promise<AdapterHarness>;
