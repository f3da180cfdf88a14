import { DataListener, Koper, type DataEvent, type Row } from "@koper/core";
import type { KoperPrismaOptions } from "@koper/prisma";
import { afterEach } from "vitest";
import type { Client, ClientOptions, Opened, PrismaDatabase } from "./databases.ts";
import { extend, type Extended } from "./harness.ts";

/** One handler call: which handler, and the event. */
export interface Seen {
  handler: string;
  event: DataEvent;
}

const row = (name: string) =>
  function (this: Recorder, _row: Row, event: DataEvent) {
    this.seen.push({ handler: name, event });
  };
const bulk = (name: string) =>
  function (this: Recorder, event: DataEvent) {
    this.seen.push({ handler: name, event });
  };

/** A real listener of every model of the Prisma tests, recording each call in order. */
@DataListener({ entity: ["Order", "Customer", "OrderLine", "Tag", "Shipment"] })
export class Recorder {
  readonly seen: Seen[] = [];
  onInsertOrder = row("onInsertOrder");
  onUpdateOrder = row("onUpdateOrder");
  onDeleteOrder = row("onDeleteOrder");
  onInsertOrder_X = row("onInsertOrder_X");
  onUpdateOrder_X = row("onUpdateOrder_X");
  onDeleteOrder_X = row("onDeleteOrder_X");
  onBulkInsertOrder = bulk("onBulkInsertOrder");
  onBulkUpdateOrder = bulk("onBulkUpdateOrder");
  onBulkDeleteOrder = bulk("onBulkDeleteOrder");
  onBulkInsertOrder_X = bulk("onBulkInsertOrder_X");
  onBulkUpdateOrder_X = bulk("onBulkUpdateOrder_X");
  onInsertCustomer = row("onInsertCustomer");
  onUpdateCustomer = row("onUpdateCustomer");
  onDeleteCustomer = row("onDeleteCustomer");
  onInsertCustomer_X = row("onInsertCustomer_X");
  onBulkInsertCustomer = bulk("onBulkInsertCustomer");
  onBulkInsertCustomer_X = bulk("onBulkInsertCustomer_X");
  onBulkUpdateCustomer = bulk("onBulkUpdateCustomer");
  onInsertOrderLine = row("onInsertOrderLine");
  onBulkInsertOrderLine = bulk("onBulkInsertOrderLine");
  onBulkUpdateOrderLine = bulk("onBulkUpdateOrderLine");
  onBulkDeleteOrderLine = bulk("onBulkDeleteOrderLine");
  onInsertTag = row("onInsertTag");
  onBulkInsertTag = bulk("onBulkInsertTag");
  onBulkDeleteTag = bulk("onBulkDeleteTag");
  onBulkUpdateTag = bulk("onBulkUpdateTag");
  onInsertShipment = row("onInsertShipment");
  onBulkInsertShipment = bulk("onBulkInsertShipment");
  onBulkUpdateShipment = bulk("onBulkUpdateShipment");
  onBulkDeleteShipment = bulk("onBulkDeleteShipment");

  /** The handler names, in order. */
  handlers(): string[] {
    return this.seen.map((s) => s.handler);
  }
}

/** One Prisma-specific test's world: a started Koper with the recorder, a fresh database, the extended client. */
export interface PrismaSetup<R extends { seen: Seen[] } = Recorder> {
  koper: Koper;
  recorder: R;
  base: Client;
  prisma: Extended;
  opened: Opened;
  /** Stops Koper (delivering everything published so far) and returns every call. */
  settle(): Promise<Seen[]>;
}

/**
 * Registers cleanup after each test and returns the function that sets a test up on `db`;
 * `makeRecorder` gives the listener registered on the test's Koper (the models of the test).
 * The function takes the extension's options, Koper's, and the client's (its client-wide `omit`).
 */
export function usePrismaSetup<R extends { seen: Seen[] } = Recorder>(db: PrismaDatabase, makeRecorder: () => R = () => new Recorder() as unknown as R) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (options: KoperPrismaOptions = {}, koperOptions: ConstructorParameters<typeof Koper>[0] = {}, clientOptions?: ClientOptions): Promise<PrismaSetup<R>> => {
    const koper = new Koper(koperOptions);
    const recorder = makeRecorder();
    koper.register(recorder);
    await koper.start();
    const opened = await db.open(clientOptions);
    cleanups.push(async () => {
      await koper.stop();
      await opened.drop();
    });
    const prisma = extend(opened.client, koper, options);
    const settle = async () => {
      await koper.stop();
      return recorder.seen;
    };
    return { koper, recorder, base: opened.client, prisma, opened, settle };
  };
}

/**
 * The calls of one transaction in commit order: listeners get events of different keys (entity +
 * key) in any order, so an order across entities is read from `transaction.position`.
 */
export function byPosition(seen: Seen[]): Seen[] {
  return [...seen].sort((a, b) => a.event.transaction.position - b.event.transaction.position);
}

/** A unique order number. */
export const num = (): string => `P-${Math.random().toString(36).slice(2, 10)}`;
