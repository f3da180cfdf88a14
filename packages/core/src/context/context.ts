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

/** Runs `fn` with `context` visible to every capture inside it (nested calls merge, inner wins). */
export function runWithContext<R>(context: KoperContext, fn: () => R): R {
  const outer = storage.getStore();
  return storage.run(outer ? { ...outer, ...context } : { ...context }, fn);
}

/** The context of the current async scope, if any. */
export function currentContext(): KoperContext | undefined {
  return storage.getStore();
}
