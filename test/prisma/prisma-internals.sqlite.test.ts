import { Koper } from "@koper/core";
import { koperPrisma, PrismaAdapterError } from "@koper/prisma";
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_WRITES, MODEL_WRITES } from "../../packages/prisma/src/PrismaCapture.ts";
import { prismaDatabase, type Opened } from "./databases.ts";
import { Prisma } from "./sqlite/generated/client.ts";

const db = await prismaDatabase("sqlite");
const TX_SCOPE = Symbol.for("prisma.client.transaction.scope_context");

/**
 * Pins the undocumented Prisma behaviour the extension relies on (Prisma 7.10): when an upgrade
 * changes it, this fails loudly, before events go missing or are published for rolled-back writes.
 */
describe("Prisma internals @koper/prisma relies on", () => {
  let opened: Opened;
  afterEach(() => opened?.drop());

  it("__internalParams.transaction: undefined in autocommit, itx + id in an interactive transaction (the same in a nested one), batch + id + index in a batch", async () => {
    opened = await db.open();
    const seen: { op: string; tx: unknown }[] = [];
    const spy = opened.client.$extends({
      query: {
        $allOperations(params) {
          const internal = (params as unknown as { __internalParams?: { transaction?: Record<string, unknown> } }).__internalParams;
          seen.push({ op: `${params.model ?? ""}.${params.operation}`, tx: internal?.transaction && { ...internal.transaction } });
          return params.query(params.args);
        },
      },
    });
    await spy.order.create({ data: { number: "a", qty: 1 } });
    let scope: unknown;
    await spy.$transaction(async (tx) => {
      scope = (tx as unknown as Record<symbol, unknown>)[TX_SCOPE];
      await tx.order.create({ data: { number: "b", qty: 1 } });
      await tx.$transaction(async (inner) => {
        await inner.order.create({ data: { number: "c", qty: 1 } });
      });
    });
    await spy.$transaction([spy.order.create({ data: { number: "d", qty: 1 } }), spy.$executeRawUnsafe("DELETE FROM orders WHERE number = 'zz'")]);
    expect(seen.map((s) => s.op)).toEqual(["Order.create", "Order.create", "Order.create", "Order.create", ".$executeRawUnsafe"]);
    expect(seen[0]!.tx).toBeUndefined();
    const itx = seen[1]!.tx as { kind: string; id: string };
    expect(itx).toMatchObject({ kind: "itx", id: expect.any(String) });
    expect(seen[2]!.tx).toMatchObject({ kind: "itx", id: itx.id });
    expect(scope).toMatchObject({ kind: "nested", txId: itx.id });
    expect(seen[3]!.tx).toMatchObject({ kind: "batch", id: expect.any(Number), index: 0 });
    expect(seen[4]!.tx).toMatchObject({ kind: "batch", id: (seen[3]!.tx as { id: number }).id, index: 1 });
  });

  it("an interactive client's _createPrismaPromise is bound to its transaction, and requestTransaction sends a batch item there (how a batch runs as an interactive transaction with outbox/audit)", async () => {
    opened = await db.open();
    const client = opened.client;
    const item = client.order.create({ data: { number: "moved", qty: 1 } });
    await expect(
      client.$transaction(async (tx) => {
        const factory = (tx as unknown as { _createPrismaPromise: (callback: (t: unknown) => unknown) => PromiseLike<unknown> })._createPrismaPromise;
        const transaction = await factory((t) => t);
        expect(transaction).toMatchObject({ kind: "itx", id: (tx as unknown as Record<symbol, { txId: string }>)[TX_SCOPE].txId });
        await (item as unknown as { requestTransaction(t: unknown): PromiseLike<unknown> }).requestTransaction(transaction);
        expect(await tx.order.count({ where: { number: "moved" } })).toBe(1);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await client.order.count({ where: { number: "moved" } })).toBe(0);
  });

  it("every model operation is a write Koper hooks by name, or a read (a write operation a Prisma upgrade adds fails here, before its writes go uncaptured)", async () => {
    opened = await db.open();
    const reads = ["findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow", "findMany", "aggregate", "count", "groupBy", "findRaw", "aggregateRaw"];
    const notOperations = ["fields", "name", "$name", "$parent"];
    const keys = Object.keys(opened.client.order);
    expect(keys.filter((key) => !reads.includes(key) && !notOperations.includes(key)).sort()).toEqual([...MODEL_WRITES].sort());
    const writes = ["$executeRaw", "$executeRawUnsafe"];
    expect([...CLIENT_WRITES].sort()).toEqual(writes);
    const prototype = Object.getPrototypeOf((opened.client as unknown as { _originalClient: object })._originalClient) as object;
    const rawOperations = Object.getOwnPropertyNames(prototype).filter((key) => /^\$(execute|query|run)/.test(key) && !key.endsWith("Internal"));
    expect(rawOperations.sort()).toEqual(["$executeRaw", "$executeRawUnsafe", "$queryRaw", "$queryRawTyped", "$queryRawUnsafe", "$runCommandRaw"]);
  });

  it("the generated client inlines its schema and provider (where Koper reads keys and tables)", async () => {
    opened = await db.open();
    const config = (opened.client as unknown as { _engineConfig?: { inlineSchema?: unknown; activeProvider?: unknown } })._engineConfig;
    expect(config?.activeProvider).toBe("sqlite");
    expect(config?.inlineSchema).toEqual(expect.stringContaining("model Order {"));
  });

  it("the client-wide omit is the client's _globalOmit, seen from an extension's client too (Koper leaves those fields out of what it adds to a select)", async () => {
    opened = await db.open({ omit: { customer: { passwordHash: true } } });
    let seen: unknown;
    const inner = opened.client.$extends({ name: "before-koper" });
    inner.$extends(Prisma.defineExtension((client) => ((seen = (client as unknown as { _globalOmit?: unknown })._globalOmit), client)));
    expect(seen).toEqual({ customer: { passwordHash: true } });
  });

  it("misconfiguration is refused with PrismaAdapterError naming the problem", async () => {
    opened = await db.open();
    expect(() => koperPrisma({} as Koper)).toThrow(PrismaAdapterError);
    const koper = new Koper();
    expect(() => opened.client.$extends(koperPrisma(koper, { captureBefore: ["Ordr"] }))).toThrow(/"Ordr".*Known models: Customer, Order, OrderLine, Tag/);
    expect(() => opened.client.$extends(koperPrisma(koper, { exclude: ["Nope"] }))).toThrow(PrismaAdapterError);
    const once = opened.client.$extends(koperPrisma(koper));
    expect(() => once.$extends(koperPrisma(koper))).toThrow(/already carries/);
    expect(() => once.$extends({ name: "other" }).$extends(koperPrisma(koper))).toThrow(/already carries/);
  });

  it("a transaction Koper did not see begin (an extension after it bypasses its $transaction) is reported to onError, and publishes nothing", async () => {
    opened = await db.open();
    const koper = new Koper();
    const published: string[] = [];
    koper.on("published", (event) => published.push(...event.payload.ids));
    await koper.start();
    const errors: unknown[] = [];
    const raw = opened.client as unknown as { $transaction: (this: unknown, ...args: unknown[]) => Promise<unknown> };
    const prisma = opened.client
      .$extends(koperPrisma(koper, { onError: (error) => errors.push(error) }))
      .$extends({ client: { $transaction(this: unknown, ...args: unknown[]) { return raw.$transaction.call(this, ...args); } } });
    await prisma.$transaction(async (tx: unknown) => {
      await (tx as typeof prisma).order.create({ data: { number: "unseen", qty: 1 } });
    });
    await koper.stop();
    expect(published).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(PrismaAdapterError);
    expect((errors[0] as Error).message).toMatch(/Order\.create ran in an interactive transaction that Koper did not see begin/);
  });
});
