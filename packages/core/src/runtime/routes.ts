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

/** A data listener's routing table: by entity, then one slot per action, outcome and kind (see `findRoute`). */
export type DataRoutes = ReadonlyMap<string, readonly (DataRoute | undefined)[]>;

/**
 * Reads a data listener's handler methods into a routing table, and refuses any method that is
 * named like a handler (`on` + capital) but matches no action of the listener's entities.
 */
export function dataRoutes(listener: object, listenerName: string, entities: readonly string[]): DataRoutes {
  const routes = new Map<string, (DataRoute | undefined)[]>();
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
    let row = routes.get(entity);
    if (!row) routes.set(entity, (row = new Array<DataRoute | undefined>(SLOTS).fill(undefined)));
    row[slot(action, match[4] ? "failed" : "committed", bulk)] = { method, bulk };
  }
  if (routes.size === 0) {
    throw ListenerError.noHandlers(listenerName, `expected methods such as ${expectedNames(entities).slice(0, 3).join(", ")}`);
  }
  return routes;
}

/** The route of an event, looked up without building a key string per event. */
export function findRoute(routes: DataRoutes, event: Pick<DataEvent, "entity" | "action" | "outcome" | "bulk">): DataRoute | undefined {
  const row = routes.get(event.entity);
  const at = row ? slot(event.action, event.outcome, event.bulk !== undefined) : -1;
  return at >= 0 ? row![at] : undefined;
}

const SLOTS = 12;

// -1 for an action or outcome that has no slot (only checked events reach here, but stay exact).
function slot(action: Action, outcome: DataEvent["outcome"], bulk: boolean): number {
  const a = action === "insert" ? 0 : action === "update" ? 1 : action === "delete" ? 2 : -1;
  const o = outcome === "committed" ? 0 : outcome === "failed" ? 1 : -1;
  return a < 0 || o < 0 ? -1 : a * 4 + o * 2 + (bulk ? 1 : 0);
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
