import type { Koper } from "@koper/core";

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
}

/** Writes the contract runs, as one ORM would run them: the same methods inside and outside transactions. */
export interface OrderOps {
  /** Inserts one order the ORM's usual way (TypeORM `save`, MikroORM `persist+flush`, Prisma `create`). */
  insertOrder(order: NewOrder): Promise<OrderRow>;
  /** Inserts an order without its required `number` (a NOT NULL column). Must reject. */
  insertOrderWithoutNumber(qty: number): Promise<unknown>;
  /** Loads the order and changes the given fields the ORM's usual way (a row update that knows the row before). */
  updateOrder(id: number, changes: Partial<Pick<OrderRow, "qty" | "note">>): Promise<void>;
  /** Deletes one order the ORM's usual way (a row delete that knows the row before). */
  deleteOrder(id: number): Promise<void>;
  /** Sets `note` on every order with qty ≥ `minQty`, by criteria (one statement, no row loaded). */
  bulkUpdateOrders(minQty: number, note: string): Promise<void>;
  /** Deletes every order with qty ≥ `minQty`, by criteria. */
  bulkDeleteOrders(minQty: number): Promise<void>;
  insertCustomer(customer: Omit<CustomerRow, "id">): Promise<CustomerRow>;
  /** Deletes one customer the ORM's usual way (loading it first). */
  deleteCustomer(id: number): Promise<void>;
  /** Runs `fn` in a nested transaction (a savepoint); rejects with `fn`'s error after rolling it back. */
  savepoint(fn: (ops: OrderOps) => Promise<void>): Promise<void>;
}

/** What differs between databases, and the contract must not pretend is the same. */
export interface HarnessCapabilities {
  /** A failed statement makes the transaction's COMMIT a ROLLBACK (PostgreSQL). */
  failedStatementAbortsTransaction: boolean;
  /** CHECK constraints are enforced. */
  checkConstraints: boolean;
}

/**
 * One ORM on one database, with the contract's two entities (`Order`, `Customer`) on fresh tables,
 * and its adapter attached to the Koper it was created with.
 */
export interface AdapterHarness extends OrderOps {
  readonly capabilities: HarnessCapabilities;
  /** The value of `event.source.orm` this adapter stamps. */
  readonly orm: string;
  /** Runs `fn` in a transaction; commits when it resolves, rolls back and rejects when it throws. */
  transaction(fn: (ops: OrderOps) => Promise<void>): Promise<void>;
  /** The order as the database holds it now (read outside any transaction), or null. */
  findOrder(id: number): Promise<OrderRow | null>;
  findOrderByNumber(number: string): Promise<OrderRow | null>;
  /** Drops the tables and closes the connection. */
  close(): Promise<void>;
}

/** Creates a harness attached to `koper`, on tables no other test uses. */
export type HarnessFactory = (koper: Koper) => Promise<AdapterHarness>;
