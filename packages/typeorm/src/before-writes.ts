import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";

/** What a before-broadcast announced: an operation's start, and the write a failed statement may belong to. */
export interface BeforeWrites {
  announced(runner: QueryRunner, metadata: EntityMetadata, event: BeforeEvent, entity: ObjectLiteral | undefined, databaseEntity: ObjectLiteral | undefined): void;
}

/** The before-events the subscriber hears of, by the name of TypeORM's Broadcaster method. */
export type BeforeEvent = "Insert" | "Update" | "Remove" | "SoftRemove" | "Recover";
const EVENTS: readonly BeforeEvent[] = ["Insert", "Update", "Remove", "SoftRemove", "Recover"];

/**
 * The subscriber sees each write before it runs without being a subscriber with before-hooks: it
 * learns where an operation's statements begin, and (failure tracking) what each may carry.
 *
 * A subscriber's before-hook counts as "a listener ran" in TypeORM's `SubjectExecutor`, which then
 * recomputes every subject of the save (its value maps and changed columns) in case the hook
 * changed an entity. Koper's hooks only note what is about to be written, so it wraps the
 * Broadcaster's before-methods instead (once per TypeORM copy: an application may load two), and
 * the wrapper tells the attached DataSource's tracker what the original announced. TypeORM still
 * recomputes when another listener or subscriber has a before-hook; `save(…, { listeners: false })`
 * calls neither. The arguments are those the subscriber's hook event would carry.
 */
const WRAPPED = Symbol.for("koper.typeorm.before-writes");
/** Set on an attached DataSource: who hears of its writes. */
const TRACKER = Symbol.for("koper.typeorm.before-writes.tracker");

type Tracked = { [TRACKER]?: BeforeWrites };
interface Broadcaster {
  // TypeORM 0.3's runner names its DataSource `connection`; 1.x's `dataSource`.
  readonly queryRunner: QueryRunner & { readonly dataSource?: Tracked; readonly connection?: Tracked };
}
// The widest of them, broadcastBeforeUpdateEvent, takes six arguments (no rest array per call).
type Method = (this: Broadcaster, result: unknown, metadata: EntityMetadata, entity?: ObjectLiteral, databaseEntity?: ObjectLiteral, fifth?: unknown, sixth?: unknown) => void;

/** Sends the before-broadcasts of `broadcaster`'s TypeORM copy, on `dataSource`, to `tracker`. Returns the undo. */
export function trackBeforeWrites(dataSource: object, broadcaster: object, tracker: BeforeWrites): () => void {
  const proto = Object.getPrototypeOf(broadcaster) as Record<string | symbol, unknown>;
  if (!proto[WRAPPED]) {
    for (const event of EVENTS) wrap(proto, event);
    proto[WRAPPED] = true;
  }
  const target = dataSource as Tracked;
  target[TRACKER] = tracker;
  return () => {
    delete target[TRACKER];
  };
}

function wrap(proto: Record<string | symbol, unknown>, event: BeforeEvent): void {
  const name = `broadcastBefore${event}Event`;
  const original = proto[name] as Method | undefined;
  if (typeof original !== "function") return;
  proto[name] = function (this: Broadcaster, result, metadata, entity, databaseEntity, fifth, sixth) {
    original.call(this, result, metadata, entity, databaseEntity, fifth, sixth);
    // After the listeners and subscribers: a write they refused (by throwing) never reaches the database.
    const runner = this.queryRunner;
    (runner.dataSource ?? runner.connection)?.[TRACKER]?.announced(runner, metadata, event, entity, event === "Insert" ? undefined : databaseEntity);
  } satisfies Method;
}

