import { randomUUID } from "node:crypto";
import { currentContext, dataListener, ensureAuditTable, ensureOutboxTable, Koper, type DataEvent, type KoperContext, type KoperOptions, type Row } from "@koper/core";
import { koperMikroOrm, sqlClientOf, type KoperMikroOrmOptions } from "@koper/mikro-orm";
import { raw, RequestContext, TransactionContext, wrap, type EntityManager, type MikroORM, type Options } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/sql";
import { afterEach, describe, expect, it } from "vitest";
import { RecordingTransport } from "../contract/RecordingTransport.ts";
import { defineApp, type App } from "./app-entities.ts";
import { database, openOrm, type Database } from "./databases.ts";

// A real application's model (app-entities.ts) through every MikroORM write a demanding user makes:
// events by property name, references by key (also on delete), collections, embeddables, JSON,
// auto-updated columns, request contexts, redaction in every published byte, failures.

const ENTITIES = ["Author", "Book", "Tag"] as const;
const secret = (what: string) => `${what}-${randomUUID().slice(0, 8)}-s3cr3t`;

/** One handler call: which handler, the event, and the context the handler ran in. */
interface Call {
  handler: string;
  event: DataEvent;
  context: KoperContext | undefined;
  requestContext: boolean;
}

/** A listener of the app's entities with every row, bulk and failure handler. */
function recorder(calls: Call[], refuse = false) {
  const handlers: Record<string, (...args: unknown[]) => void> = {};
  for (const entity of ENTITIES) {
    for (const action of ["Insert", "Update", "Delete"]) {
      for (const suffix of ["", "_X"]) {
        handlers[`on${action}${entity}${suffix}`] = (_row, event) => record(`on${action}${entity}${suffix}`, event as DataEvent);
        handlers[`onBulk${action}${entity}${suffix}`] = (event) => record(`onBulk${action}${entity}${suffix}`, event as DataEvent);
      }
    }
  }
  function record(handler: string, event: DataEvent) {
    const requestContext = RequestContext.currentRequestContext() !== undefined || TransactionContext.currentTransactionContext() !== undefined;
    calls.push({ handler, event, context: currentContext(), requestContext });
    if (refuse) throw new Error("refused, so that the event is dead-lettered too");
  }
  return dataListener()({ entity: [...ENTITIES], retry: { retries: 0, initialDelayMs: 0 }, ...(handlers as object) } as never);
}

interface World {
  orm: MikroORM;
  app: App;
  koper: Koper;
  transport: RecordingTransport;
  em: () => SqlEntityManager;
  /** Stops Koper (everything delivered and dead-lettered) and returns the handler calls in order. */
  settle: () => Promise<Call[]>;
}

function useWorld(db: Database) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (koperOptions: KoperOptions = {}, adapter: KoperMikroOrmOptions = {}, { refuse = false, orm: ormOptions = {} }: { refuse?: boolean; orm?: Partial<Options> } = {}): Promise<World> => {
    const transport = new RecordingTransport();
    const koper = new Koper({ transport, ...koperOptions });
    const calls: Call[] = [];
    koper.register(recorder(calls, refuse));
    await koper.start();
    const app = defineApp();
    const { orm, drop } = await openOrm(db, { entities: app.schemas, ...ormOptions } as Partial<Options>);
    const handle = koperMikroOrm(orm, koper, adapter);
    cleanups.push(async () => {
      await koper.stop();
      handle.detach();
      await drop();
    });
    return {
      orm,
      app,
      koper,
      transport,
      em: () => orm.em.fork() as unknown as SqlEntityManager,
      settle: async () => {
        await koper.stop();
        return calls;
      },
    };
  };
}

/** An author and a book "Ref" of theirs, flushed: what the never-loaded-reference tests start from. */
async function savedBook(em: EntityManager, app: App) {
  const ada = newAuthor(em, app);
  const book = em.create(app.Book, { title: "Ref", author: ada } as never);
  await em.flush();
  return { ada, book };
}

const events = (calls: Call[]) => calls.map((c) => c.event);
/** An identifier as MikroORM quotes it on `db`. */
const quoter = (db: Database) => (id: string) => (db.name === "postgres" ? `"${id}"` : `\`${id}\``);
const handlers = (calls: Call[]) => calls.map((c) => c.handler);
const em0 = (orm: MikroORM) => orm.em.fork();
/** A book's columns the tests leave at their defaults. */
const plainBook = { featured: false, keywords: null, price: null };

function newAuthor(em: EntityManager, app: App, values: Partial<Record<string, unknown>> = {}) {
  return em.create(app.Author, { name: "Ada", email: `${randomUUID().slice(0, 8)}@example.com`, passwordHash: secret("hash"), ...values } as never);
}

for (const db of [await database("sqlite"), await database("postgres"), await database("mariadb")]) {
  describe.skipIf(db.skip !== undefined)(`mikro-orm, a real application's model: ${db.name}`, () => {
    const world = useWorld(db);
    const q = quoter(db);

    it("a book's author (a ManyToOne with no FK property) is in its insert, update and delete events by property name", async () => {
      const { app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      const grace = newAuthor(e1, app, { name: "Grace" });
      const book = e1.create(app.Book, { title: "Notes", author: ada } as never);
      await e1.flush();
      book.author = grace;
      book.title = "Notes, 2nd ed.";
      await e1.flush();
      e1.remove(book);
      await e1.flush();
      // And a book loaded by a fresh EntityManager, its author an unloaded reference.
      const e2 = em();
      const other = e2.create(app.Book, { title: "Other", author: ada.id, editor: e2.getReference(app.Author, grace.id, { wrapped: true }) } as never);
      await e2.flush();
      const e3 = em();
      const loaded = await e3.findOneOrFail(app.Book, { id: other.id });
      e3.remove(loaded);
      await e3.flush();
      const books = events(await settle()).filter((e) => e.entity === "Book");
      expect(books.map((e) => e.action)).toEqual(["insert", "update", "delete", "insert", "delete"]);
      expect(books[0]!.data).toEqual({ id: book.id, title: "Notes", author: ada.id, editor: null, ...plainBook });
      // The entity never set `editor` and the others: MikroORM keeps them undefined, so update and delete leave them out.
      expect(books[1]!.data).toEqual({ id: book.id, title: "Notes, 2nd ed.", author: grace.id, featured: false });
      expect(books[1]!.before).toEqual({ id: book.id, title: "Notes", author: ada.id, featured: false });
      expect(books[1]!.changes?.slice().sort()).toEqual(["author", "title"]);
      expect(books[2]!).toEqual(expect.objectContaining({ key: { id: book.id }, data: null, before: { id: book.id, title: "Notes, 2nd ed.", author: grace.id, featured: false } }));
      expect(books[3]!.data).toEqual({ id: other.id, title: "Other", author: ada.id, editor: grace.id, ...plainBook });
      expect(books[4]!).toEqual(expect.objectContaining({ key: { id: other.id }, data: null, before: { id: other.id, title: "Other", author: ada.id, editor: grace.id, ...plainBook } }));
    });

    it("a book removed through a reference MikroORM never loaded: its delete event still names its author", async () => {
      const { app, em, settle } = await world();
      const { ada, book } = await savedBook(em(), app);
      const e2 = em();
      e2.remove(e2.getReference(app.Book, book.id));
      await e2.flush();
      const deleted = events(await settle()).find((e) => e.entity === "Book" && e.action === "delete")!;
      expect(deleted).toMatchObject({ key: { id: book.id }, data: null });
      expect(deleted.before).toEqual({ id: book.id, title: "Ref", author: ada.id, editor: null, ...plainBook });
    });

    it("lookupJoinColumns: false — a reference MikroORM never loaded is removed without a read: before is only its key", async () => {
      const { app, em, settle } = await world({}, { lookupJoinColumns: false });
      const { book } = await savedBook(em(), app);
      const e2 = em();
      const reference = e2.getReference(app.Book, book.id);
      e2.remove(reference);
      await e2.flush();
      expect(wrap(reference).isInitialized()).toBe(false); // nothing loaded it
      const deleted = events(await settle()).find((e) => e.entity === "Book" && e.action === "delete")!;
      expect(deleted).toMatchObject({ key: { id: book.id }, data: null });
      expect(deleted.before).toEqual({ id: book.id });
    });

    it("the read of a never-loaded removed row makes no entity: the app's onLoad subscriber never runs, and before is the row a loaded removal has", async () => {
      const { orm, app, em, settle } = await world();
      const loads: string[] = [];
      orm.em.getEventManager().registerSubscriber({
        getSubscribedEntities: () => [app.Book, app.Author],
        onLoad: (args: { meta: { className: string } }) => void loads.push(args.meta.className),
      } as never);
      const { ada, book } = await savedBook(em(), app);
      const twin = { address: { city: "Delft", zip: "2611" }, profile: { tags: ["a", "b"], n: 1 } };
      const e1 = em();
      const [loaded, unloaded] = [newAuthor(e1, app, twin), newAuthor(e1, app, twin)];
      await e1.flush();
      const e2 = em();
      e2.remove(await e2.findOneOrFail(app.Author, { id: loaded.id }));
      await e2.flush();
      expect(loads).toEqual(["Author"]); // the app's own findOneOrFail
      const e3 = em();
      const [bookRef, authorRef] = [e3.getReference(app.Book, book.id), e3.getReference(app.Author, unloaded.id)];
      e3.remove(bookRef).remove(authorRef);
      await e3.flush();
      expect(loads).toEqual(["Author"]);
      expect([wrap(bookRef).isInitialized(), wrap(authorRef).isInitialized()]).toEqual([false, false]);
      const deleted = events(await settle()).filter((e) => e.action === "delete");
      const before = (id: string | number) => deleted.find((e) => e.key?.id === id)!.before!;
      expect(before(book.id)).toEqual({ id: book.id, title: "Ref", author: ada.id, editor: null, ...plainBook });
      // Every value type the Author has (embeddable, JSON, dates, version, database default) as the loaded removal's.
      const { id: _a, email: _b, passwordHash: _c, ...ofLoaded } = before(loaded.id);
      const { id: _d, email: _e, passwordHash: _f, ...ofUnloaded } = before(unloaded.id);
      expect(ofUnloaded).toEqual({ ...ofLoaded, createdAt: expect.any(Date), updatedAt: expect.any(Date) });
      expect(ofUnloaded).toMatchObject({ address: twin.address, profile: twin.profile, status: "active", version: 1 });
    });

    it("documented limit: an update through a reference MikroORM never loaded carries what MikroORM knows: the key and the values set", async () => {
      const { app, em, settle } = await world();
      const { book } = await savedBook(em(), app);
      const e2 = em();
      e2.getReference(app.Book, book.id).title = "Renamed";
      await e2.flush();
      const updated = events(await settle()).find((e) => e.entity === "Book" && e.action === "update")!;
      expect(updated).toMatchObject({ key: { id: book.id }, data: { id: book.id, title: "Renamed" }, changes: ["title"] });
      expect(updated.data).not.toHaveProperty("author");
      expect(updated).not.toHaveProperty("before"); // its snapshot holds the key alone: the row before is unknown
    });

    it("tags added to and removed from a book (owning many-to-many): an update of the book with the keys after and before", async () => {
      const { app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      const [t1, t2, t3] = ["t1", "t2", "t3"].map((id) => e1.create(app.Tag, { id: `${id}-${randomUUID().slice(0, 8)}`, label: id } as never));
      const book = e1.create(app.Book, { title: "Tagged", author: ada } as never);
      book.tags.add(t1!, t2!);
      await e1.flush();
      book.tags.remove(t1!);
      book.tags.add(t3!);
      await e1.flush();
      const e2 = em();
      const loaded = await e2.findOneOrFail(app.Book, { id: book.id }, { populate: ["tags"] as never });
      loaded.tags.removeAll();
      await e2.flush();
      const calls = await settle();
      const books = events(calls).filter((e) => e.entity === "Book");
      expect(books.map((e) => [e.action, e.changes ?? null])).toEqual([["insert", null], ["update", ["tags"]], ["update", ["tags"]], ["update", ["tags"]]]);
      const sorted = (v: unknown) => (v as string[]).slice().sort();
      expect(books[0]!.data).toEqual({ id: book.id, title: "Tagged", author: ada.id, editor: null, ...plainBook });
      expect(sorted(books[1]!.data!.tags)).toEqual([t1!.id, t2!.id].sort());
      expect(books[1]!.before!.tags).toEqual([]);
      expect(sorted(books[2]!.data!.tags)).toEqual([t2!.id, t3!.id].sort());
      expect(sorted(books[2]!.before!.tags)).toEqual([t1!.id, t2!.id].sort());
      expect(books[2]!.data).toMatchObject({ id: book.id, title: "Tagged", author: ada.id });
      expect(books[3]!.data!.tags).toEqual([]);
      expect(sorted(books[3]!.before!.tags)).toEqual([t2!.id, t3!.id].sort());
      expect(books[3]!.data).toMatchObject({ id: book.id, title: "Tagged", author: ada.id });
    });

    it("a tag added to a loaded book whose tags were never loaded", async () => {
      const { app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      const [t1, t2] = ["t1", "t2"].map((id) => e1.create(app.Tag, { id: `${id}-${randomUUID().slice(0, 8)}`, label: id } as never));
      const book = e1.create(app.Book, { title: "Tagged", author: ada } as never);
      book.tags.add(t1!);
      await e1.flush();
      const e2 = em();
      const loaded = await e2.findOneOrFail(app.Book, { id: book.id });
      expect(loaded.tags.isInitialized()).toBe(false);
      loaded.tags.add(e2.getReference(app.Tag, t2!.id));
      await e2.flush();
      const rows = await em().findOneOrFail(app.Book, { id: book.id }, { populate: ["tags"] as never });
      const updates = events(await settle()).filter((e) => e.entity === "Book" && e.action === "update");
      expect(updates).toHaveLength(2);
      expect(rows.tags.getIdentifiers()).toEqual(expect.arrayContaining([t1!.id, t2!.id]));
      // MikroORM knows only the added tag: the pivot table says what the book holds after
      expect(updates[1]!).toMatchObject({ key: { id: book.id }, changes: ["tags"], data: { id: book.id, title: "Tagged", author: ada.id }, before: { id: book.id, title: "Tagged", author: ada.id } });
      expect((updates[1]!.data!.tags as string[]).slice().sort()).toEqual([t1!.id, t2!.id].sort());
      expect(updates[1]!.before!.tags).toEqual([t1!.id]);
    });

    it("a tag already on a book, added again to its never-loaded tags: no change, no event", async () => {
      const { app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      const tag = e1.create(app.Tag, { id: `t1-${randomUUID().slice(0, 8)}`, label: "t1" } as never);
      const book = e1.create(app.Book, { title: "Tagged", author: ada } as never);
      book.tags.add(tag);
      await e1.flush();
      const e2 = em();
      const loaded = await e2.findOneOrFail(app.Book, { id: book.id });
      expect(loaded.tags.isInitialized()).toBe(false);
      loaded.tags.add(e2.getReference(app.Tag, tag.id));
      await e2.flush();
      const updates = events(await settle()).filter((e) => e.entity === "Book" && e.action === "update");
      expect(updates).toHaveLength(1); // the first flush's tags only: re-adding t1 changed nothing
    });

    it("a boolean, a decimal and a custom type: before holds the entity's values, as data does", async () => {
      const { app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      const book = e1.create(app.Book, { title: "Typed", author: ada, featured: true, keywords: ["a", "b"], price: "9.50" } as never);
      await e1.flush();
      const e2 = em();
      const loaded = await e2.findOneOrFail(app.Book, { id: book.id });
      const loadedPrice = loaded.price; // SQLite gives back "9.5"
      loaded.featured = false;
      loaded.keywords = ["c"];
      loaded.price = "12.00";
      await e2.flush();
      const [insert, update] = events(await settle()).filter((e) => e.entity === "Book");
      expect(insert!.data).toMatchObject({ featured: true, keywords: ["a", "b"], price: "9.50" });
      expect(update!.before).toMatchObject({ featured: true, keywords: ["a", "b"], price: loadedPrice });
      expect(update!.data).toMatchObject({ featured: false, keywords: ["c"], price: "12.00" });
      expect(update!.changes?.slice().sort()).toEqual(["featured", "keywords", "price"]);
    });

    it("an embeddable and a JSON property: values by property name, JSON as values, before from the snapshot", async () => {
      const { app, em, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e1 = em();
      const ada = newAuthor(e1, app, { address: { city: "Lyon", zip: "69001" }, profile: { langs: ["fr", "en"], n: 1, deep: { a: true } } });
      await e1.flush();
      ada.address!.city = "Paris";
      ada.profile = { langs: ["fr"], n: 2, deep: { a: false } };
      await e1.flush();
      const authors = events(await settle()).filter((e) => e.entity === "Author");
      expect(authors.map((e) => e.action)).toEqual(["insert", "update"]);
      const [insert, update] = authors;
      expect(insert!.data).toMatchObject({ id: ada.id, address: { city: "Lyon", zip: "69001" }, profile: { langs: ["fr", "en"], n: 1, deep: { a: true } } });
      expect(insert!.data).not.toHaveProperty("passwordHash");
      expect(update!.data).toMatchObject({ address: { city: "Paris", zip: "69001" }, profile: { langs: ["fr"], n: 2, deep: { a: false } } });
      expect(update!.before).toMatchObject({ address: { city: "Lyon", zip: "69001" }, profile: { langs: ["fr", "en"], n: 1, deep: { a: true } } });
      expect(update!.before).not.toHaveProperty("passwordHash");
      expect(update!.changes?.slice().sort()).toEqual(["address.city", "profile", "updatedAt", "version"]);
    });

    it("auto-set columns: onCreate/onUpdate timestamps, the version and a database default are in the events as in the row", async () => {
      const { orm, app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      await e1.flush();
      ada.name = "Ada L.";
      await e1.flush();
      const row = await orm.em.fork().findOneOrFail(app.Author, { id: ada.id });
      // Loaded by another EntityManager and changed: only what changed, and the auto-updated columns.
      const e2 = em();
      const loaded = await e2.findOneOrFail(app.Author, { id: ada.id });
      loaded.name = "Ada Lovelace";
      await e2.flush();
      const [insert, update, loadedUpdate] = events(await settle()).filter((e) => e.entity === "Author");
      expect(loadedUpdate!.changes?.slice().sort()).toEqual(["name", "updatedAt", "version"]);
      expect(loadedUpdate!.before).toMatchObject({ name: "Ada L.", version: 2, status: "active", address: null, profile: null });
      expect(loadedUpdate!.data).toMatchObject({ name: "Ada Lovelace", version: 3, status: "active", address: null, profile: null });
      expect(insert!.key).toEqual({ id: ada.id });
      expect(insert!.data).toMatchObject({ id: ada.id, name: "Ada", version: 1, status: "active", address: null, profile: null });
      expect(insert!.data!.createdAt).toBeTruthy();
      expect(insert!.data!.updatedAt).toBeTruthy();
      expect(update!.data).toMatchObject({ name: "Ada L.", version: 2, status: "active" });
      expect(update!.before).toMatchObject({ name: "Ada", version: 1, status: "active" });
      // The event holds the entity's value; MariaDB's DATETIME (no fractional seconds) stores it truncated.
      const updatedAt = new Date(update!.data!.updatedAt as string).getTime();
      expect(updatedAt).toBe(ada.updatedAt!.getTime());
      expect(row.updatedAt!.getTime()).toBe(db.name === "mariadb" ? updatedAt - (updatedAt % 1000) : updatedAt);
      expect(update!.data!.version).toBe(row.version);
      // `before` holds values of the same types as `data` (MikroORM's snapshot holds a SQLite datetime as a number)
      for (const field of ["createdAt", "updatedAt"]) {
        expect(insert!.data![field], `insert data.${field}`).toBeInstanceOf(Date);
        expect(update!.data![field], `update data.${field}`).toBeInstanceOf(Date);
        expect(update!.before![field], `update before.${field}`).toBeInstanceOf(Date);
      }
      expect((update!.before!.createdAt as Date).getTime()).toBe(ada.createdAt!.getTime());
      expect((update!.before!.updatedAt as Date).getTime()).toBe((insert!.data!.updatedAt as Date).getTime());
      expect(update!.changes?.slice().sort()).toEqual(["name", "updatedAt", "version"]);
    });

    it("cascade persist, orphan removal and cascade remove: one event per row, the author's key in every book's", async () => {
      const { app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      ada.books.add(e1.create(app.Book, { title: "A", author: ada } as never), e1.create(app.Book, { title: "B", author: ada } as never));
      await e1.flush();
      const [a, b] = ada.books.getItems();
      ada.books.remove(a!); // orphan removal: a DELETE of the book
      await e1.flush();
      e1.remove(ada); // cascade remove: the author and the last book
      await e1.flush();
      const calls = await settle();
      const all = events(calls);
      expect(handlers(calls)).toEqual(["onInsertAuthor", "onInsertBook", "onInsertBook", "onDeleteBook", "onDeleteBook", "onDeleteAuthor"]);
      expect(all[3]!).toMatchObject({ key: { id: a!.id }, data: null, before: { id: a!.id, title: "A", author: ada.id } });
      const lastBook = all.slice(4).find((e) => e.entity === "Book")!;
      expect(lastBook).toMatchObject({ key: { id: b!.id }, data: null, before: { id: b!.id, title: "B", author: ada.id } });
      const author = all.slice(4).find((e) => e.entity === "Author")!;
      expect(author).toMatchObject({ key: { id: ada.id }, data: null });
      expect(author.before).toMatchObject({ id: ada.id, name: "Ada" });
      expect(new Set(all.slice(4).map((e) => e.transaction.id)).size).toBe(1);
    });

    it("redaction: passwordHash never in data, before, bulk criteria (nested $or/$in), bulk set, qb writes, failures, dead letters", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: ["passwordHash"] } }, {}, { refuse: true });
      const [h0, h1, h2, h3, h4] = [secret("h0"), secret("h1"), secret("h2"), secret("h3"), secret("h4")];
      const e1 = em();
      const ada = newAuthor(e1, app, { passwordHash: h0 });
      await e1.flush();
      ada.passwordHash = h1;
      await e1.flush();
      await em().nativeUpdate(app.Author, { passwordHash: h1 }, { passwordHash: h2 });
      await em().nativeUpdate(app.Author, { $or: [{ name: "nobody" }, { passwordHash: { $in: [h2, h3] } }] }, { name: "Ada 2" });
      await em().createQueryBuilder(app.Author).update({ passwordHash: h3 }).where({ passwordHash: h2 }).execute();
      await em().qb(app.Author).update({ name: "Ada 3" }).where({ $or: [{ passwordHash: { $in: [h3] } }, { name: "Ada 2" }] }).execute();
      await em().upsert(app.Author, { id: ada.id, name: "Ada 4", email: ada.email, passwordHash: h4 } as never, { onConflictFields: ["email"] } as never);
      await em().insertMany(app.Author, [{ id: randomUUID(), name: "Bo", email: `bo-${randomUUID()}@example.com`, passwordHash: h4, status: "x", createdAt: new Date(), updatedAt: new Date(), version: 1 }] as never);
      await em().nativeDelete(app.Author, { passwordHash: { $in: [h0, h1] } });
      const calls = await settle();
      const all = events(calls).filter((e) => e.entity === "Author");
      expect(all.length).toBeGreaterThanOrEqual(9);
      for (const value of [h0, h1, h2, h3, h4]) expect(transport.carrying(value), `${value} was published`).toEqual([]);
      for (const e of all) {
        expect(e.data ?? {}).not.toHaveProperty("passwordHash");
        expect(e.before ?? {}).not.toHaveProperty("passwordHash");
        expect(e.bulk?.set ?? {}).not.toHaveProperty("passwordHash");
      }
      const sql = all.filter((e) => e.bulk?.criteria?.kind === "sql").map((e) => e.bulk!.criteria);
      expect(sql).toEqual([
        { kind: "sql", sql: `${q("password_hash")} = ?`, parameters: ["***"] },
        { kind: "sql", sql: `(${q("password_hash")} in (?) or ${q("name")} = ?)`, parameters: ["***", "Ada 2"] },
      ]);
      // every event was refused by the handler: each is dead-lettered too, and those were searched above
      expect(transport.sent.length).toBe(2 * events(calls).length);
    });

    it("redaction: a QueryBuilder parameter compared with an expression or through a join is masked, not credited to a column", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e1 = em();
      const h0 = secret("expr");
      const ada = newAuthor(e1, app, { passwordHash: h0 });
      e1.create(app.Book, { title: "T", author: ada } as never);
      await e1.flush();
      const concat = db.name === "mariadb" ? `concat(${q("password_hash")}, ${q("name")})` : `${q("password_hash")} || ${q("name")}`;
      // `password_hash || name = ?`: the last identifier before `=` is name, but the value holds the hash.
      await em().qb(app.Author).update({ status: "b" }).where({ [raw(`${concat}`)]: `${h0}Ada` } as never).execute();
      await em().qb(app.Author).update({ status: "c" }).where(`${q("password_hash")} || ${q("name")} = ?`, [`${h0}Ada`]).execute().catch(() => undefined);
      if (db.name === "postgres") await em().qb(app.Author).update({ status: "d" }).where(`${q("password_hash")}::text = ?`, [h0]).execute();
      if (db.name === "mariadb") {
        // MySQL/MariaDB: an UPDATE with a JOIN; the joined table's `id` is not the author's.
        await em().qb(app.Author, "a").update({ status: "e" }).join("a.books", "b").where({ "b.id": { $ne: null }, passwordHash: h0 } as never).execute();
      }
      await settle();
      expect(transport.carrying(h0), "the secret was published").toEqual([]);
      expect(transport.carrying(`${h0}Ada`), "the secret was published").toEqual([]);
    });

    it("redaction with the outbox and the audit trail on: no outbox or audit row holds the secret", async () => {
      const [outbox, audit] = [`koper_outbox_${randomUUID().slice(0, 8)}`, `koper_audit_${randomUUID().slice(0, 8)}`];
      const { orm, app, em, settle } = await world({ redact: { Author: ["passwordHash"] } }, { outbox: { table: outbox, relay: false }, audit: { table: audit } });
      const client = sqlClientOf(orm.em);
      await ensureOutboxTable(client, { table: outbox });
      await ensureAuditTable(client, { table: audit });
      try {
        const [h0, h1, h2] = [secret("h0"), secret("h1"), secret("h2")];
        const e1 = em();
        const ada = newAuthor(e1, app, { passwordHash: h0 });
        await e1.flush();
        ada.passwordHash = h1;
        await e1.flush();
        await em().nativeUpdate(app.Author, { passwordHash: h1 }, { passwordHash: h2 });
        await em().qb(app.Author).update({ name: "Q" }).where({ passwordHash: h2 }).execute();
        const e2 = em();
        newAuthor(e2, app, { email: ada.email, passwordHash: h2 });
        await expect(e2.flush()).rejects.toThrow();
        await settle();
        const rows = [...(await client.query(`SELECT * FROM ${outbox}`)), ...(await client.query(`SELECT * FROM ${audit}`))];
        expect(rows.length).toBeGreaterThanOrEqual(8);
        const text = JSON.stringify(rows, (_k, v: unknown) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : typeof v === "bigint" ? String(v) : v));
        for (const value of [h0, h1, h2]) expect(text.includes(value), `${value} is in an outbox or audit row`).toBe(false);
      } finally {
        for (const table of [outbox, `${outbox}_lease`, audit]) await client.query(`DROP TABLE IF EXISTS ${table}`);
      }
    });

    it("a unique violation on a redacted column: flush insert, flush update, nativeUpdate, QueryBuilder, insertMany, upsert never quote it", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: ["passwordHash", "apiKey"] } });
      const key = secret("key");
      const e1 = em();
      newAuthor(e1, app, { apiKey: key });
      const other = newAuthor(e1, app);
      await e1.flush();
      const e2 = em();
      newAuthor(e2, app, { apiKey: key });
      await expect(e2.flush()).rejects.toThrow();
      const e3 = em();
      (await e3.findOneOrFail(app.Author, { id: other.id })).apiKey = key;
      await expect(e3.flush()).rejects.toThrow();
      await expect(em().nativeUpdate(app.Author, { id: other.id }, { apiKey: key })).rejects.toThrow();
      await expect(em().qb(app.Author).update({ apiKey: key }).where({ id: other.id }).execute()).rejects.toThrow();
      const now = new Date();
      const row = { id: randomUUID(), name: "I", email: `${randomUUID()}@x.io`, passwordHash: secret("hash"), apiKey: key, status: "a", createdAt: now, updatedAt: now, version: 1 };
      await expect(em().insertMany(app.Author, [row] as never)).rejects.toThrow();
      const upserted = { ...row, id: randomUUID(), email: `${randomUUID()}@x.io` };
      const upsertError = await em().upsert(app.Author, upserted as never, { onConflictFields: ["email"] } as never).then(() => undefined, (e: Error) => e);
      const all = events(await settle());
      const failed = all.filter((e) => e.outcome === "failed");
      expect(failed.map((e) => [e.action, e.error?.code, Boolean(e.bulk)])).toEqual([
        ["insert", "unique_violation", false],
        ["update", "unique_violation", false],
        ["update", "unique_violation", true],
        ["update", "unique_violation", true],
        ["insert", "unique_violation", false],
        ...(db.name === "mariadb" ? [] : [["insert", "unique_violation", true]]),
      ]);
      if (db.name === "mariadb") {
        // ON DUPLICATE KEY matches any unique index: MariaDB overwrote the row holding the api key
        // (its id too), then MikroORM could not reload it by email and threw. The write happened
        // (autocommit): its event, the application gets MikroORM's error.
        expect(upsertError?.name).toBe("TypeError");
        expect(all.at(-1)).toMatchObject({ outcome: "committed", action: "update", key: { id: upserted.id }, data: { id: upserted.id, email: upserted.email } });
        expect(await em().count(app.Author, { id: upserted.id })).toBe(1);
      } else {
        expect(upsertError?.constructor.name).toBe("UniqueConstraintViolationException");
      }
      expect(transport.carrying(key)).toEqual([]);
      expect(transport.carrying(row.passwordHash)).toEqual([]);
      if (db.name === "postgres") for (const e of failed) expect(e.error!.original?.detail).toBe("Key (api_key)=(***) already exists.");
      if (db.name === "mariadb") for (const e of failed.slice(0, -1)) expect(e.error!.message).toMatch(/^Duplicate entry '\*\*\*' for key/);
    });

    it("a native write whose statement ran and whose call then threw (an app's afterUpsert hook): in autocommit the rows stand, so their events (no failure); in the app's rolled-back transaction, nothing", async () => {
      const { orm, app, em, settle } = await world();
      const refusal = new Error("the app's afterUpsert hook refused");
      orm.em.getEventManager().registerSubscriber({
        getSubscribedEntities: () => [app.Author],
        afterUpsert: () => Promise.reject(refusal),
      } as never);
      const now = new Date();
      const author = () => ({ id: randomUUID(), name: "U", email: `${randomUUID()}@x.io`, passwordHash: "p", status: "a", createdAt: now, updatedAt: now, version: 1 });
      const [one, many, inTx] = [author(), author(), author()];
      await expect(em().upsert(app.Author, one as never, { onConflictFields: ["email"] } as never)).rejects.toBe(refusal);
      await expect(em().upsertMany(app.Author, [many] as never, { onConflictFields: ["email"] } as never)).rejects.toBe(refusal);
      await expect(em().transactional((tx) => tx.upsert(app.Author, inTx as never, { onConflictFields: ["email"] } as never))).rejects.toBe(refusal);
      const all = events(await settle());
      expect(all.filter((e) => e.outcome === "failed")).toEqual([]);
      expect(all.map((e) => [e.entity, e.action, e.outcome, e.key?.id])).toEqual([
        ["Author", "insert", "committed", one.id],
        ["Author", "insert", "committed", many.id],
      ]);
      expect(await em().count(app.Author, { id: { $in: [one.id, many.id] } })).toBe(2);
      expect(await em().count(app.Author, { id: inTx.id })).toBe(0);
    });

    it("the same with the audit on: the call's own transaction rolls the row back; the failed attempt is audited as orm_error", async () => {
      const audit = `koper_audit_${randomUUID().slice(0, 8)}`;
      const { orm, app, em, koper, settle } = await world({}, { audit: { table: audit } });
      const client = sqlClientOf(orm.em);
      await ensureAuditTable(client, { table: audit });
      try {
        orm.em.getEventManager().registerSubscriber({ getSubscribedEntities: () => [app.Author], afterUpsert: () => Promise.reject(new Error("refused")) } as never);
        const now = new Date();
        const one = { id: randomUUID(), name: "U", email: `${randomUUID()}@x.io`, passwordHash: "p", status: "a", createdAt: now, updatedAt: now, version: 1 };
        await expect(em().upsert(app.Author, one as never, { onConflictFields: ["email"] } as never)).rejects.toThrow("refused");
        expect(await em().count(app.Author, { id: one.id })).toBe(0);
        const entries = (await koper.audit.changes({ entity: "Author" })).entries;
        expect(entries.map((e) => [e.action, e.outcome, e.error?.code])).toEqual([["insert", "failed", "orm_error"]]);
        expect(events(await settle()).map((e) => [e.outcome, e.error?.code])).toEqual([["failed", "orm_error"]]);
      } finally {
        await client.query(`DROP TABLE IF EXISTS ${audit}`);
      }
    });

    it("redaction in failures: a unique violation on the secret's row, a failed nativeUpdate on it, a validation error", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: { passwordHash: "remove", email: "mask" } } }, {}, { refuse: true });
      const [email, h0, h1, h2] = [`${secret("mail")}@example.com`, secret("h0"), secret("h1"), secret("h2")];
      const e1 = em();
      newAuthor(e1, app, { email, passwordHash: h0 });
      await e1.flush();
      const e2 = em();
      newAuthor(e2, app, { email, passwordHash: h1 });
      await expect(e2.flush()).rejects.toThrow();
      const e3 = em();
      const bo = newAuthor(e3, app, { passwordHash: h2 });
      await e3.flush();
      await expect(em().nativeUpdate(app.Author, { id: bo.id, passwordHash: h2 }, { email })).rejects.toThrow();
      const e4 = em();
      e4.create(app.Author, { name: "NoEmail", passwordHash: h1 } as never);
      await expect(e4.flush()).rejects.toThrow();
      const calls = await settle();
      const failed = events(calls).filter((e) => e.outcome === "failed");
      expect(failed.map((e) => [e.action, e.error?.code])).toEqual([["insert", "unique_violation"], ["update", "unique_violation"], ["insert", "validation_error"]]);
      for (const value of [email, h0, h1, h2]) expect(transport.carrying(value), `${value} was published`).toEqual([]);
    });

    it("failures: one failure event per attempted row with the normalized code; MikroORM's own exception unchanged", async () => {
      const { app, em, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e1 = em();
      const taken = newAuthor(e1, app);
      await e1.flush();
      // A unique violation inside a flush of three new authors (one batched INSERT on most databases).
      const e2 = em();
      const rows = [newAuthor(e2, app), newAuthor(e2, app, { email: taken.email }), newAuthor(e2, app)];
      const flushError = await e2.flush().then(() => undefined, (error: Error) => error);
      expect(flushError?.constructor.name).toBe("UniqueConstraintViolationException");
      // A missing required property: MikroORM's ValidationError, before SQL.
      const e3 = em();
      e3.create(app.Author, { email: "x@example.com", passwordHash: "p" } as never);
      const validation = await e3.flush().then(() => undefined, (error: Error) => error);
      expect(validation?.name).toBe("ValidationError");
      // A failed nativeUpdate.
      const nativeError = await em().nativeUpdate(app.Author, { email: rows[0]!.email }, { email: taken.email }).then(() => undefined, (error: Error) => error);
      expect(nativeError).toBeUndefined(); // rows[0] was never inserted: nothing matched, nothing failed
      const e4 = em();
      const other = newAuthor(e4, app);
      await e4.flush();
      const refused = await em().nativeUpdate(app.Author, { id: other.id }, { email: taken.email }).then(() => undefined, (error: Error) => error);
      expect(refused?.constructor.name).toBe("UniqueConstraintViolationException");
      const calls = await settle();
      const failed = calls.filter((c) => c.event.outcome === "failed");
      const flushFailures = failed.filter((c) => c.handler === "onInsertAuthor_X" && c.event.error?.code !== "validation_error");
      // every row the failed statement carried (a batched INSERT fails as a whole), each with its own key
      // one batched INSERT of the three on every database: it fails as a whole, each of its rows with its own key
      expect(flushFailures.map((f) => (f.event.key as Row).id).sort()).toEqual(rows.map((r) => r.id).sort());
      for (const f of flushFailures) {
        expect(f.event.error).toMatchObject({ code: "unique_violation", name: "UniqueConstraintViolationException" });
        expect(rows.map((r) => r.id)).toContain((f.event.key as Row).id);
        expect(f.event.data).toMatchObject({ name: "Ada" });
        expect(f.event.data).not.toHaveProperty("passwordHash");
      }
      expect(flushFailures.map((f) => (f.event.key as Row).id)).toContain(rows[1]!.id);
      const validationFailure = failed.find((c) => c.event.error?.code === "validation_error")!;
      expect(validationFailure.handler).toBe("onInsertAuthor_X");
      expect(validationFailure.event.error).toMatchObject({ name: "ValidationError" });
      const bulkFailure = failed.filter((c) => c.handler === "onBulkUpdateAuthor_X");
      expect(bulkFailure.map((c) => c.event.error?.code)).toEqual(["unique_violation"]);
      expect(bulkFailure[0]!.event.bulk).toMatchObject({ criteria: { kind: "where", where: { id: other.id } }, set: { email: taken.email }, affected: null });
    });

    it("foreign key failures: a book of a missing author, an author removed under its unloaded books; an update flush's unique violation", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: { passwordHash: "remove", email: "mask" } } });
      const e1 = em();
      const ada = newAuthor(e1, app);
      const grace = newAuthor(e1, app, { name: "Grace" });
      e1.create(app.Book, { title: "Kept", author: ada } as never);
      await e1.flush();
      const missing = randomUUID();
      const e2 = em();
      const orphan = e2.create(app.Book, { title: "Orphan", author: missing } as never);
      const insertError = await e2.flush().then(() => undefined, (error: Error) => error);
      expect(insertError?.constructor.name).toBe("ForeignKeyConstraintViolationException");
      // Removed by a fresh EntityManager: its books are not loaded, so MikroORM cascades nothing.
      const e3 = em();
      e3.remove(await e3.findOneOrFail(app.Author, { id: ada.id }));
      const deleteError = await e3.flush().then(() => undefined, (error: Error) => error);
      expect(deleteError?.constructor.name).toBe("ForeignKeyConstraintViolationException");
      // An update flush refused by the unique index on a masked column.
      const e4 = em();
      const loaded = await e4.findOneOrFail(app.Author, { id: grace.id });
      loaded.email = ada.email;
      const updateError = await e4.flush().then(() => undefined, (error: Error) => error);
      expect(updateError?.constructor.name).toBe("UniqueConstraintViolationException");
      const failed = events(await settle()).filter((e) => e.outcome === "failed");
      expect(failed.map((e) => [e.entity, e.action, e.error?.code])).toEqual([
        ["Book", "insert", "foreign_key_violation"],
        ["Author", "delete", "foreign_key_violation"],
        ["Author", "update", "unique_violation"],
      ]);
      expect(failed[0]!.data).toEqual({ title: "Orphan", author: missing, featured: false });
      expect(failed[0]!.key).toBeNull();
      expect(orphan.id).toBeUndefined();
      expect(failed[1]!).toMatchObject({ key: { id: ada.id }, data: null, before: { id: ada.id, name: "Ada", email: "***" } });
      expect(failed[2]!).toMatchObject({ key: { id: grace.id }, data: { id: grace.id, name: "Grace", email: "***" }, before: { id: grace.id, email: "***", address: null, profile: null } });
      expect(failed[2]!.changes?.slice().sort()).toEqual(["email", "updatedAt"]);
      for (const value of [ada.email, grace.email, ada.passwordHash, grace.passwordHash]) expect(transport.carrying(value), `${value} was published`).toEqual([]);
    });

    it("an optimistic lock conflict (version): MikroORM's OptimisticLockError, a failure event, no update event", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e1 = em();
      const ada = newAuthor(e1, app);
      await e1.flush();
      const [a, b] = [em(), em()];
      const first = await a.findOneOrFail(app.Author, { id: ada.id });
      const second = await b.findOneOrFail(app.Author, { id: ada.id });
      first.name = "First";
      await a.flush();
      second.name = "Second";
      const error = await b.flush().then(() => undefined, (e: Error) => e);
      expect(error?.name).toBe("OptimisticLockError");
      const authors = events(await settle()).filter((e) => e.entity === "Author");
      expect(authors.map((e) => [e.action, e.outcome])).toEqual([["insert", "committed"], ["update", "committed"], ["update", "failed"]]);
      expect(authors[2]!).toMatchObject({ key: { id: ada.id }, data: { name: "Second", version: 1 }, before: { name: "Ada", version: 1 } });
      expect(authors[2]!.error).toMatchObject({ name: "OptimisticLockError", code: "not_found", message: "The optimistic lock on entity Author failed" });
      expect(authors[2]!.changes?.slice().sort()).toEqual(["name", "updatedAt"]);
      expect(authors[2]!.data).not.toHaveProperty("passwordHash");
      expect(transport.carrying(ada.passwordHash)).toEqual([]);
    });

    it("bulk writes naming references and embeddables: by property name, entities by key", async () => {
      const { app, em, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e1 = em();
      const ada = newAuthor(e1, app);
      const grace = newAuthor(e1, app, { name: "Grace" });
      const book = e1.create(app.Book, { title: "B", author: ada } as never);
      await e1.flush();
      await em().nativeUpdate(app.Book, { author: ada }, { author: grace });
      await em().nativeUpdate(app.Author, { id: ada.id }, { address: { city: "Oslo", zip: "0150" }, profile: { a: 1 } } as never);
      await em().qb(app.Author).update({ address: { city: "Bergen", zip: "5003" } } as never).where({ id: ada.id }).execute();
      await em().qb(app.Book).update({ author: ada } as never).where({ id: book.id }).execute();
      await em().nativeDelete(app.Book, { author: { passwordHash: ada.passwordHash } } as never);
      const bulk = events(await settle()).filter((e) => e.bulk).map((e) => [e.entity, e.bulk!.criteria, e.bulk!.set ?? null, e.changes ?? null]);
      expect(bulk).toEqual([
        ["Book", { kind: "where", where: { author: ada.id } }, { author: grace.id }, ["author"]],
        ["Author", { kind: "where", where: { id: ada.id } }, { address: { city: "Oslo", zip: "0150" }, profile: { a: 1 } }, ["address", "profile"]],
        ["Author", { kind: "sql", sql: q("id") + " = ?", parameters: [ada.id] }, { address: { city: "Bergen", zip: "5003" } }, ["address"]],
        ["Book", { kind: "sql", sql: q("id") + " = ?", parameters: [book.id] }, { author: ada.id }, ["author"]],
        ["Book", { kind: "where", where: { author: { passwordHash: "***" } } }, null, null],
      ]);
    });

    it("a flush of two updates, one refused by the unique email (a batched UPDATE on some databases), and a required property set to null", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e1 = em();
      const [a, b, c] = [newAuthor(e1, app, { name: "A" }), newAuthor(e1, app, { name: "B" }), newAuthor(e1, app, { name: "C" })];
      await e1.flush();
      const e2 = em();
      const [la, lb] = await Promise.all([e2.findOneOrFail(app.Author, { id: a.id }), e2.findOneOrFail(app.Author, { id: b.id })]);
      la.email = c.email;
      lb.name = "B2";
      await expect(e2.flush()).rejects.toThrow();
      const e3 = em();
      const lc = await e3.findOneOrFail(app.Author, { id: c.id });
      lc.name = null as never;
      const notNull = await e3.flush().then(() => undefined, (e: Error) => e);
      expect(notNull?.name).toBe("NotNullConstraintViolationException"); // MikroORM checks required values on insert only
      const failed = events(await settle()).filter((e) => e.outcome === "failed");
      const unique = failed.filter((e) => e.error?.code === "unique_violation");
      // every row of the failed statement: MikroORM batches both updates into one on some databases
      expect(unique.map((e) => (e.key as Row).id).sort()).toEqual([a.id, b.id].sort());
      for (const e of unique) {
        const ofA = (e.key as Row).id === a.id;
        if (ofA) expect(e).toMatchObject({ action: "update", data: { id: a.id, name: "A", email: c.email }, before: { id: a.id, name: "A", email: a.email } });
        else expect(e).toMatchObject({ action: "update", key: { id: b.id }, data: { id: b.id, name: "B2", email: b.email }, before: { id: b.id, name: "B", email: b.email } });
        expect(e.changes?.slice().sort()).toEqual(ofA ? ["email", "updatedAt"] : ["name", "updatedAt"]);
      }
      const invalid = failed.find((e) => e.error?.code === "not_null_violation")!;
      expect(invalid).toMatchObject({ action: "update", key: { id: c.id }, data: { id: c.id, name: null }, before: { id: c.id, name: "C" } });
      expect(invalid.changes?.slice().sort()).toEqual(["name", "updatedAt"]);
      if (db.name === "postgres") expect(invalid.error!.original?.detail).toBe("Failing row contains (***).");
      for (const author of [a, b, c]) expect(transport.carrying(author.passwordHash)).toEqual([]);
    });

    it("two concurrent requests (RequestContext + runWith): each event carries its own actor; handlers see neither request", async () => {
      const { orm, app, koper, settle } = await world();
      const request = (actor: string, delay: number) =>
        RequestContext.create(orm.em, () =>
          koper.runWith({ actor, requestId: `req-${actor}` }, async () => {
            const em = orm.em; // the request's fork, through MikroORM's RequestContext
            const author = newAuthor(em, app, { name: actor });
            await new Promise((resolve) => setTimeout(resolve, delay));
            await em.flush();
            await new Promise((resolve) => setTimeout(resolve, delay));
            await em.transactional(async (tx) => {
              const book = tx.create(app.Book, { title: `${actor}'s book`, author } as never);
              await tx.flush();
              await new Promise((resolve) => setTimeout(resolve, delay));
              await tx.transactional(async (inner) => {
                book.title = `${actor}'s book, revised`;
                await inner.flush();
              });
            });
            await em.nativeUpdate(app.Author, { id: author.id }, { name: `${actor}!` });
            return author.id;
          }),
        );
      const [alice, bob] = await Promise.all([request("alice", 15), request("bob", 5)]);
      const calls = await settle();
      expect(calls).toHaveLength(8);
      for (const call of calls) {
        const actor = call.event.context?.actor;
        expect(["alice", "bob"]).toContain(actor);
        expect(call.event.context?.requestId).toBe(`req-${actor}`);
        const ownAuthor = actor === "alice" ? alice : bob;
        const authorOf = call.event.bulk ? (call.event.bulk.criteria as { where: Row }).where.id : call.event.entity === "Author" ? (call.event.key as Row).id : (call.event.data as Row).author;
        expect(authorOf, `${call.handler} of ${actor}`).toBe(ownAuthor);
        expect(call.context?.actor).toBe(actor);
        expect(call.requestContext, "a handler runs in the publisher's MikroORM RequestContext").toBe(false);
      }
    });

    it("concurrent requests whose writes fail: each failure event carries its own request's actor", async () => {
      const { orm, app, koper, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e0 = em0(orm);
      const taken = newAuthor(e0, app);
      await e0.flush();
      const request = (actor: string, delay: number) =>
        RequestContext.create(orm.em, () =>
          koper.runWith({ actor }, async () => {
            const em = orm.em;
            await new Promise((resolve) => setTimeout(resolve, delay));
            newAuthor(em, app, { email: taken.email, name: actor });
            await em.flush().catch(() => undefined); // unique violation
            em.clear();
            await new Promise((resolve) => setTimeout(resolve, delay));
            em.create(app.Author, { email: `${actor}@example.com`, passwordHash: "p" } as never);
            await em.flush().catch(() => undefined); // validation error
            em.clear();
            await em.nativeUpdate(app.Author, { name: actor }, { email: taken.email }).catch(() => undefined); // nothing matched
            await em.transactional(async (tx) => {
              await tx.nativeUpdate(app.Author, { id: taken.id }, { email: taken.email }); // same value: fine
            });
            await (em as unknown as SqlEntityManager).qb(app.Author).update({ email: taken.email }).where({ name: "nobody" }).execute();
          }),
        );
      await Promise.all([request("alice", 10), request("bob", 3)]);
      const calls = (await settle()).filter((c) => c.event.outcome === "failed");
      expect(calls.map((c) => [c.event.context?.actor, c.event.error?.code]).sort()).toEqual([
        ["alice", "unique_violation"],
        ["alice", "validation_error"],
        ["bob", "unique_violation"],
        ["bob", "validation_error"],
      ]);
      for (const call of calls) {
        if (call.event.error?.code === "unique_violation") expect(call.event.data).toMatchObject({ name: call.event.context?.actor });
        expect(call.context?.actor).toBe(call.event.context?.actor);
        expect(call.requestContext).toBe(false);
      }
    });

    it("insertMany of books (autoincrement keys): every row's key; a QueryBuilder write by a relation filter hides the secret", async () => {
      const { app, em, transport, settle } = await world({ redact: { Author: ["passwordHash"] } });
      const e1 = em();
      const ada = newAuthor(e1, app);
      await e1.flush();
      await em().insertMany(app.Book, [{ title: "1", author: ada.id }, { title: "2", author: ada.id }, { title: "3", author: ada }] as never);
      await em().qb(app.Book).update({ title: "x" }).where({ author: { passwordHash: ada.passwordHash } }).execute();
      await em().qb(app.Book).delete().where({ author: { passwordHash: ada.passwordHash }, title: "x" }).execute();
      const all = events(await settle()).filter((e) => e.entity === "Book");
      const rows = await em().find(app.Book, {}, { orderBy: { id: "asc" } });
      expect(rows).toHaveLength(0);
      expect(all.slice(0, 3).map((e) => [e.action, e.key, e.data])).toEqual([1, 2, 3].map((n, i) => ["insert", { id: all[0]!.key!.id as number + i }, { id: all[0]!.key!.id as number + i, title: String(n), author: ada.id }]));
      // MikroORM runs a write by a relation filter as a query (`… where id in (select …)`): it returns rows, not a count.
      expect(all.slice(3).map((e) => [e.action, e.bulk?.affected, e.bulk?.set ?? null])).toEqual([["update", null, { title: "x" }], ["delete", null, null]]);
      for (const e of all.slice(3)) {
        expect(e.bulk!.criteria).toMatchObject({ kind: "sql", sql: expect.stringMatching(/ in \(select /) });
        expect((e.bulk!.criteria as { parameters: unknown[] }).parameters.every((p) => p === "***")).toBe(true);
      }
      expect(transport.carrying(ada.passwordHash)).toEqual([]);
    });

    it("QueryBuilder insert and update of JSON and embeddable values: by property, JSON as values", async () => {
      const { app, em, settle } = await world();
      const id = randomUUID();
      const now = new Date();
      await em().qb(app.Author).insert({ id, name: "Q", email: `${id}@x.io`, passwordHash: "p", address: { city: "Rome", zip: "00100" }, profile: { k: [1, 2] }, createdAt: now, updatedAt: now } as never).execute();
      await em().qb(app.Author).update({ profile: { k: [3] }, address: { city: "Milan", zip: "20121" } } as never).where({ id }).execute();
      const row = await em().findOneOrFail(app.Author, { id });
      expect(row.profile).toEqual({ k: [3] });
      const [insert, update] = events(await settle()).filter((e) => e.entity === "Author");
      expect(insert!.bulk!.set).toEqual({ id, name: "Q", email: `${id}@x.io`, passwordHash: "p", address: { city: "Rome", zip: "00100" }, profile: { k: [1, 2] }, createdAt: now, updatedAt: now });
      expect(update!.bulk!.set).toEqual({ profile: { k: [3] }, address: { city: "Milan", zip: "20121" } });
    });

    it("upsert / upsertMany, insertMany and clone with an app-set uuid key: the keys and values as given", async () => {
      const { app, em, settle } = await world();
      const e1 = em();
      const ada = newAuthor(e1, app);
      await e1.flush();
      const now = new Date();
      const base = { passwordHash: "p", status: "active", createdAt: now, updatedAt: now, version: 1 };
      const [id1, id2] = [randomUUID(), randomUUID()];
      await em().insertMany(app.Author, [{ id: id1, name: "I1", email: `${id1}@x.io`, ...base }, { id: id2, name: "I2", email: `${id2}@x.io`, ...base }] as never);
      await em().upsert(app.Author, { id: ada.id, name: "Ada U", email: ada.email, ...base } as never, { onConflictFields: ["email"] } as never);
      const book = await em().upsert(app.Book, { title: "Upserted", author: ada.id } as never);
      await em().upsertMany(app.Book, [{ id: book.id, title: "Upserted 2", author: ada.id }] as never);
      const calls = await settle();
      const all = events(calls);
      const upserted = all.filter((e) => e.entity === "Author")[3]!;
      if (db.name === "mariadb") {
        // MariaDB says the upsert updated: a row update naming every value it set (the conflict field included)
        expect(upserted).toMatchObject({ action: "update", key: { id: ada.id }, data: { id: ada.id, name: "Ada U", email: ada.email } });
        expect(upserted.changes?.slice().sort()).toEqual(["createdAt", "email", "name", "passwordHash", "status", "updatedAt", "version"]);
      } else {
        expect(upserted).toMatchObject({ action: "insert", key: { id: ada.id }, bulk: { criteria: { kind: "where", where: { email: ada.email } } } });
      }
      const inserts = all.filter((e) => e.entity === "Author" && e.action === "insert" && !e.bulk);
      expect(inserts.map((e) => e.key)).toEqual([{ id: ada.id }, { id: id1 }, { id: id2 }]);
      expect(inserts[1]!.data).toMatchObject({ id: id1, name: "I1" });
      const bookEvents = all.filter((e) => e.entity === "Book");
      expect(bookEvents.map((e) => e.key)).toEqual([{ id: book.id }, { id: book.id }]);
      for (const e of bookEvents) expect(e.bulk?.set ?? e.data).toMatchObject({ author: ada.id });
    });
  });
}
