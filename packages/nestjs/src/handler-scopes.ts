import { FRAMEWORK_LIFECYCLE_METHODS } from "@koper/core";

/** One handler call, as a handler scope sees it. */
export interface KoperHandlerCall {
  /** The listener instance (your provider). */
  listener: object;
  /** The handler method, e.g. `onInsertOrder` or `onMessage`. */
  method: string;
  /** What the handler receives: `(entity, event)`, `(event)` for bulk, `(payload, meta)` for messages. */
  args: readonly unknown[];
}

/**
 * Runs around every handler call, inside the call's own event context: e.g. a MikroORM
 * `RequestContext` or a nestjs-cls `cls.run()` per call. A provider class listed in `handlerScopes`.
 */
export interface KoperHandlerScope {
  run(call: KoperHandlerCall, next: () => Promise<unknown>): Promise<unknown>;
}

const HANDLER = /^on[A-Z]/;
const LIFECYCLE: ReadonlySet<string> = new Set(FRAMEWORK_LIFECYCLE_METHODS);

/**
 * A stand-in for `listener` whose handler methods run inside `scopes` (first listed = outermost).
 * It inherits from the listener, so Koper reads the same definition, name and handler names.
 */
export function withScopes(listener: object, scopes: readonly KoperHandlerScope[]): object {
  if (scopes.length === 0) return listener;
  const facade = Object.create(listener) as Record<string, unknown>;
  for (const method of handlerMethods(listener)) {
    const original = (listener as Record<string, (...args: unknown[]) => unknown>)[method]!;
    facade[method] = (...args: unknown[]) => {
      const call: KoperHandlerCall = { listener, method, args };
      const invoke = (index: number): Promise<unknown> =>
        index === scopes.length ? Promise.resolve(original.apply(listener, args)) : scopes[index]!.run(call, () => invoke(index + 1));
      return invoke(0);
    };
  }
  return facade;
}

function handlerMethods(listener: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = listener; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (!HANDLER.test(name) || LIFECYCLE.has(name)) continue;
      if (typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "function") names.add(name);
    }
  }
  return [...names];
}
