import type { Action, DataEvent } from "../envelope/DataEvent.ts";
import { ListenerError } from "../errors.ts";
import { FRAMEWORK_LIFECYCLE_METHODS } from "./listeners.ts";

/** The handler method a data event goes to. */
export interface DataRoute {
  method: string;
  /** Bulk handlers get only the event. */
  bulk: boolean;
}

const HANDLER = /^on(Bulk)?(Insert|Update|Delete)(.+?)(_X)?$/;
const LOOKS_LIKE_HANDLER = /^on[A-Z]/;
const LIFECYCLE: ReadonlySet<string> = new Set(FRAMEWORK_LIFECYCLE_METHODS);

/**
 * Reads a data listener's handler methods into a routing table, and refuses any method that is
 * named like a handler (`on` + capital) but matches no action of the listener's entities.
 */
export function dataRoutes(listener: object, listenerName: string, entities: readonly string[]): Map<string, DataRoute> {
  const routes = new Map<string, DataRoute>();
  for (const method of methodNames(listener)) {
    // Framework hooks (onModuleInit…) look like handlers but belong to the framework.
    if (!LOOKS_LIKE_HANDLER.test(method) || LIFECYCLE.has(method)) continue;
    const match = HANDLER.exec(method);
    const entity = match?.[3];
    if (!match || !entity || !entities.includes(entity)) {
      throw ListenerError.unknownHandler(listenerName, method, expectedNames(entities));
    }
    const action = match[2]!.toLowerCase() as Action;
    const bulk = match[1] !== undefined;
    routes.set(routeKey(entity, action, match[4] ? "failed" : "committed", bulk), { method, bulk });
  }
  if (routes.size === 0) {
    throw ListenerError.noHandlers(listenerName, `expected methods such as ${expectedNames(entities).slice(0, 3).join(", ")}`);
  }
  return routes;
}

/** The routing-table key of an event. */
export function routeKeyOf(event: Pick<DataEvent, "entity" | "action" | "outcome" | "bulk">): string {
  return routeKey(event.entity, event.action, event.outcome, event.bulk !== undefined);
}

/**
 * A lookup of `routes` by event without building its key string per event: by entity, then by
 * action, outcome and kind. Entities with no route answer from `routes` itself (nothing cached for them).
 */
export function routeFinder(routes: ReadonlyMap<string, DataRoute>): (event: Pick<DataEvent, "entity" | "action" | "outcome" | "bulk">) => DataRoute | undefined {
  const byEntity = new Map<string, (DataRoute | undefined)[]>();
  for (const [key, route] of routes) {
    const [entity, action, outcome, kind] = key.split("|") as [string, Action, DataEvent["outcome"], string];
    let row = byEntity.get(entity);
    if (!row) byEntity.set(entity, (row = new Array<DataRoute | undefined>(12).fill(undefined)));
    row[slot(action, outcome, kind === "bulk")] = route;
  }
  return (event) => {
    const row = byEntity.get(event.entity);
    const at = row ? slot(event.action, event.outcome, event.bulk !== undefined) : -1;
    return at >= 0 ? row![at] : routes.get(routeKeyOf(event));
  };
}

// -1 for an action or outcome that has no slot (only zod-checked events reach here, but stay exact).
function slot(action: Action, outcome: DataEvent["outcome"], bulk: boolean): number {
  const a = action === "insert" ? 0 : action === "update" ? 1 : action === "delete" ? 2 : -1;
  const o = outcome === "committed" ? 0 : outcome === "failed" ? 1 : -1;
  return a < 0 || o < 0 ? -1 : a * 4 + o * 2 + (bulk ? 1 : 0);
}

function routeKey(entity: string, action: Action, outcome: DataEvent["outcome"], bulk: boolean): string {
  return `${entity}|${action}|${outcome}|${bulk ? "bulk" : "row"}`;
}

function expectedNames(entities: readonly string[]): string[] {
  return entities.flatMap((e) => ["Insert", "Update", "Delete"].flatMap((a) => [`on${a}${e}`, `on${a}${e}_X`]));
}

/** Every function-valued property of an object and of its prototype chain (short of Object). */
export function methodNames(object: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = object; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor") continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (descriptor && typeof descriptor.value === "function") names.add(name);
    }
  }
  return [...names];
}
