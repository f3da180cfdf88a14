import { AsyncLocalStorage } from "node:async_hooks";

/** Who is writing and on whose behalf: stamped on every event captured inside `runWith`. */
export interface KoperContext {
  actor?: string;
  requestId?: string;
  /** W3C traceparent of the incoming request; events become child spans of it. */
  traceparent?: string;
  /** Extra fields copied into `event.context` (e.g. tenant). */
  [field: string]: unknown;
}

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
