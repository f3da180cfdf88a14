import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";

/** Who is writing and on whose behalf: stamped on every event captured inside `runWith`. */
export interface KoperContext {
  actor?: string;
  requestId?: string;
  /** W3C traceparent of the incoming request; events become child spans of it. */
  traceparent?: string;
  /** Id of the event whose handler is running: writes made by a handler point back at their cause. */
  causationId?: string;
  /** Extra fields copied into `event.context` (e.g. tenant). */
  [field: string]: unknown;
}

/** Supplies context at capture time (e.g. read from nestjs-cls); `runWith`'s fields win over it. */
export type ContextSupplier = () => KoperContext | undefined;

// One store per process, even when two copies of @koper/core are loaded.
const STORE_KEY = Symbol.for("koper.context.store");
const holder = globalThis as { [STORE_KEY]?: AsyncLocalStorage<KoperContext> };
const storage = (holder[STORE_KEY] ??= new AsyncLocalStorage<KoperContext>());

/**
 * Runs `fn` with `context` visible to every capture inside it (nested calls merge, inner wins).
 * When `fn` returns a thenable that is not a native promise (a Prisma query, which starts only
 * when awaited), it is started inside the scope, so the write it makes still sees the context.
 */
export function runWithContext<R>(context: KoperContext, fn: () => R): R {
  const outer = storage.getStore();
  return storage.run(outer ? { ...outer, ...context } : { ...context }, () => {
    const result = fn();
    if (result instanceof Promise || typeof (result as { then?: unknown } | null)?.then !== "function") return result;
    return new Promise((resolve, reject) => (result as PromiseLike<unknown>).then(resolve, reject)) as R;
  });
}

/** The context of the current async scope, if any. */
export function currentContext(): KoperContext | undefined {
  return storage.getStore();
}

/**
 * The context a write made now carries: the supplier's fields under the current scope's.
 * A supplier that throws supplies nothing: a broken context source must not lose the write's event.
 */
export function captureContext(supplier: ContextSupplier | undefined): KoperContext | undefined {
  const scoped = storage.getStore();
  if (!supplier) return scoped;
  let supplied: KoperContext | undefined;
  try {
    supplied = supplier();
  } catch {
    supplied = undefined;
  }
  if (!supplied) return scoped;
  return scoped ? { ...supplied, ...scoped } : supplied;
}

/**
 * Runs handler calls detached from whoever triggered the delivery: every AsyncLocalStorage
 * (Koper's, nestjs-cls, OpenTelemetry, an ORM's request context) sees the async context of the
 * place this was created, never the publishing request's; Koper's own store holds only `context`.
 */
export class DetachedScope {
  readonly #root = new AsyncResource("koper.handler");
  // The root async context with exactly EMPTY as Koper's context, made once: `runEmpty` then costs
  // one switch of async context, no new store and no closure.
  readonly #empty = storage.run(EMPTY, () => new AsyncResource("koper.handler"));

  /** Calls `fn` in the root async context with exactly `context` as Koper's context. */
  run<R>(context: KoperContext, fn: () => R): R {
    return this.#root.runInAsyncScope(storage.run, storage, context, fn) as R;
  }

  /** `run({}, () => fn.call(thisArg, ...args))`, without a closure per call. */
  runEmpty<A extends unknown[], R>(fn: (...args: A) => R, thisArg: unknown, ...args: A): R {
    return this.#empty.runInAsyncScope(fn, thisArg, ...args);
  }
}

// Koper's context outside any scope a handler's event gives; frozen, since every detached call shares it.
const EMPTY: KoperContext = Object.freeze({});
