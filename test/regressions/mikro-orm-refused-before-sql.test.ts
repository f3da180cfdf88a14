// Regression: a QueryBuilder write MikroORM refused before any SQL (its query could not be built at
// execute(): an operator it does not allow on the column, a condition it cannot read) published no
// failure event: the capture built the event's criteria from the query, which threw again. Native
// writes refused the same way (em.nativeUpdate/nativeDelete/insert) published one with
// `error.code: "unknown"` and MikroORM's message as it was. Both are now `validation_error`, as a
// flush's ValidationError is, with the message's values blanked; the application still gets
// MikroORM's own error. Only MikroORM's own refusals: an error of the application's code before SQL
// (a hook, a custom type) stays `unknown`, its message cut all the same. A refused QueryBuilder
// update/delete carries the where MikroORM kept for it (it published `criteria: null`: every row).
import { randomUUID } from "node:crypto";
import { dataListener, Koper, type DataEvent } from "@koper/core";
import { koperMikroOrm, type KoperMikroOrmHandle } from "@koper/mikro-orm";
import type { Options } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/sql";
import { afterEach, describe, expect, it } from "vitest";
import { RecordingTransport } from "../contract/RecordingTransport.ts";
import { defineApp, type App } from "../mikro-orm/app-entities.ts";
import { database, openOrm, type Database } from "../mikro-orm/databases.ts";

const secret = (what: string) => `${what}-${randomUUID().slice(0, 8)}-s3cr3t`;

interface Call {
  handler: string;
  event: DataEvent;
}

function useWorld(db: Database) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async () => {
    const transport = new RecordingTransport();
    // The author's secrets: its password hash, and its profile (a JSON property) as a whole.
    const koper = new Koper({ transport, redact: { Author: ["passwordHash", "profile"] } });
    const calls: Call[] = [];
    const handlers: Record<string, unknown> = {};
    for (const entity of ["Author", "Book"]) {
      for (const action of ["Insert", "Update", "Delete"]) {
        for (const suffix of ["", "_X"]) {
          const [row, bulk] = [`on${action}${entity}${suffix}`, `onBulk${action}${entity}${suffix}`];
          handlers[row] = (_row: unknown, event: DataEvent) => void calls.push({ handler: row, event });
          handlers[bulk] = (event: DataEvent) => void calls.push({ handler: bulk, event });
        }
      }
    }
    koper.register(dataListener()({ entity: ["Author", "Book"], retry: { retries: 0, initialDelayMs: 0 }, ...handlers } as never));
    await koper.start();
    const app = defineApp();
    const { orm, drop } = await openOrm(db, { entities: app.schemas } as Partial<Options>);
    const handle: KoperMikroOrmHandle = koperMikroOrm(orm, koper);
    cleanups.push(async () => {
      await koper.stop();
      handle.detach();
      await drop();
    });
    const em = () => orm.em.fork() as unknown as SqlEntityManager;
    /**
     * Runs `write` with Koper attached, then again detached: the error the application gets, which
     * must be MikroORM's own (the same class and message as without Koper), and the handler calls.
     */
    const refused = async (write: (em: SqlEntityManager, app: App) => Promise<unknown>) => {
      const error = await write(em(), app).then(() => undefined, (e: unknown) => e as Error);
      await koper.stop();
      handle.detach();
      const without = await write(em(), app).then(() => undefined, (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect(error!.constructor).toBe(without!.constructor);
      expect(error!.message).toBe(without!.message);
      return { error: error!, calls, transport };
    };
    return { refused, orm, app };
  };
}

for (const db of [await database("sqlite"), await database("postgres"), await database("mariadb")]) {
  describe.skipIf(db.skip !== undefined)(`regression: a write MikroORM refuses before SQL is a validation_error failure: ${db.name}`, () => {
    const world = useWorld(db);

    it("a QueryBuilder update with an operator MikroORM does not allow on the column ($all on a scalar)", async () => {
      const { refused } = await world();
      const [hash, email] = [secret("hash"), secret("mail")];
      const { error, calls, transport } = await refused((em, app) =>
        em.createQueryBuilder(app.Author).update({ passwordHash: hash } as never).where({ email: { $all: [email] } } as never).execute(),
      );
      expect(error.message).toMatch(/\$all/);
      expect(calls.map((c) => c.handler)).toEqual(["onBulkUpdateAuthor_X"]);
      const [{ event }] = calls as [Call];
      expect(event).toMatchObject({ action: "update", outcome: "failed", bulk: { criteria: { kind: "where", where: { email: { $all: [email] } } }, affected: null } });
      expect(event.error).toMatchObject({ code: "validation_error", name: error.name, message: error.message });
      expect(transport.carrying(hash)).toEqual([]);
    });

    it("a QueryBuilder update whose refusal prints the where, a redacted value in it: MikroORM's message quotes it, the event never", async () => {
      // util.inspect quotes a text in ', in " when it holds a ', in ` when it holds both.
      for (const quoted of ["plain", "it's", `it's "so"`]) {
        const { refused } = await world();
        const [hash, token] = [secret("hash"), `${quoted}-${secret("token")}`];
        const { error, calls, transport } = await refused((em, app) =>
          em.createQueryBuilder(app.Author).update({ passwordHash: hash } as never).where({ profile: { $elemMatch: { token: { $bogus: token } } } } as never).execute(),
        );
        expect(error.name).toBe("ValidationError");
        expect(error.message).toContain(token); // MikroORM's own message
        expect(calls.map((c) => c.handler)).toEqual(["onBulkUpdateAuthor_X"]);
        expect(calls[0]!.event.error).toMatchObject({ code: "validation_error", name: "ValidationError", message: "Invalid query condition: …" });
        for (const value of [hash, token, token.split("-").slice(-2).join("-")]) expect(transport.carrying(value), `${value} was published`).toEqual([]);
      }
    });

    it("a QueryBuilder delete refused; a refusal while the QueryBuilder is built (a value its custom type cannot convert) is no write and no event", async () => {
      const { refused } = await world();
      const { error, calls } = await refused(async (em, app) => {
        // MikroORM converts a where's values as `where()` takes them: it throws there, and nothing executes.
        expect(() => em.createQueryBuilder(app.Book).update({ title: "t" } as never).where({ keywords: { $in: [5] } } as never)).toThrow(TypeError);
        await em.createQueryBuilder(app.Book).update({ title: "t" } as never).where({ title: { $all: ["x"] } } as never).execute().catch(() => undefined);
        return em.createQueryBuilder(app.Author).delete().where({ email: { $all: ["x"] } } as never).execute();
      });
      expect(error.message).toMatch(/\$all/);
      expect(calls.map((c) => [c.handler, c.event.error?.code, c.event.error?.name, c.event.bulk?.criteria])).toEqual([
        ["onBulkUpdateBook_X", "validation_error", error.name, { kind: "where", where: { title: { $all: ["x"] } } }],
        ["onBulkDeleteAuthor_X", "validation_error", error.name, { kind: "where", where: { email: { $all: ["x"] } } }],
      ]);
    });

    it("native writes MikroORM refuses before SQL: nativeUpdate and nativeDelete by an unknown property or an operator it refuses", async () => {
      const { refused } = await world();
      const [hash, email] = [secret("hash"), secret("mail")];
      const { calls, transport } = await refused(async (em, app) => {
        const errors = [
          await em.nativeUpdate(app.Author, { nope: email } as never, { passwordHash: hash } as never).catch((e: Error) => e),
          await em.nativeUpdate(app.Author, { email: { $all: [email] } } as never, { passwordHash: hash } as never).catch((e: Error) => e),
          await em.nativeDelete(app.Author, { nope: email } as never).catch((e: Error) => e),
        ];
        expect(errors.map((e) => e instanceof Error)).toEqual([true, true, true]);
        throw errors[0];
      });
      expect(calls.map((c) => [c.handler, c.event.error?.code])).toEqual([
        ["onBulkUpdateAuthor_X", "validation_error"],
        ["onBulkUpdateAuthor_X", "validation_error"],
        ["onBulkDeleteAuthor_X", "validation_error"],
      ]);
      expect(transport.carrying(hash)).toEqual([]);
    });

    it("an error of the application's own code before any SQL (a beforeUpsert hook, a custom type's conversion) is no refusal of MikroORM: code unknown, its message cut all the same", async () => {
      const { refused, orm, app } = await world();
      const [hash, token] = [secret("hash"), secret("token")];
      // Subscribed to every entity: MikroORM matches a subscriber's entities by the upserted data's class (a plain object here).
      const hook = ({ meta }: { meta: { className: string } }) => {
        if (meta.className === "Author") throw new Error(`Order refused for { token: '${token}' }`);
      };
      orm.em.getEventManager().registerSubscriber({ getSubscribedEntities: () => [], beforeUpsert: hook } as never);
      const now = new Date();
      const author = { id: randomUUID(), name: "U", email: `${randomUUID()}@x.io`, passwordHash: hash, status: "a", createdAt: now, updatedAt: now, version: 1 };
      const { error, calls, transport } = await refused(async (em, app) => {
        // The test app's PipeListType joins a list: given a number, its own code throws a TypeError.
        const converted = await em.insert(app.Book, { title: "t", keywords: 5, author: randomUUID() } as never).catch((e: Error) => e);
        expect(converted).toBeInstanceOf(Error);
        return em.upsert(app.Author, author as never, { onConflictFields: ["email"] } as never);
      });
      expect(error.message).toContain(token); // the hook's own message, as the application threw it
      expect(calls.map((c) => [c.handler, c.event.error?.code])).toEqual([
        ["onInsertBook_X", "unknown"],
        ["onBulkInsertAuthor_X", "unknown"],
      ]);
      expect(calls[1]!.event.error).toMatchObject({ name: "Error", message: "Order refused for …" });
      for (const value of [hash, token]) expect(transport.carrying(value), `${value} was published`).toEqual([]);
    });

    it("a refused QueryBuilder update whose where MikroORM keeps in other terms than properties (a relation filter, run as a sub-query): criteria null", async () => {
      const { refused } = await world();
      const { error, calls } = await refused((em, app) =>
        em.createQueryBuilder(app.Book).update({ title: "t" } as never).where({ author: { email: { $all: ["x"] } } } as never).execute(),
      );
      expect(error).toBeInstanceOf(Error);
      expect(calls.map((c) => [c.handler, c.event.error?.code, c.event.bulk?.criteria])).toEqual([["onBulkUpdateBook_X", "validation_error", null]]);
    });
  });
}
