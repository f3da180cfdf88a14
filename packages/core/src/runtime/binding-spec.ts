import { validateTopic } from "../envelope/topics.ts";
import { ConfigError, ListenerError } from "../errors.ts";
import type { BindingSpec } from "./ListenerBinding.ts";
import type { DedupMemory } from "./DedupMemory.ts";
import { definitionOf, entityName, nameOf, type ListenerOptions } from "./listeners.ts";
import { dataResolver, messageResolver } from "./resolvers.ts";
import { RetryPolicy, type RetryOptions } from "./RetryPolicy.ts";
import { dataRoutes } from "./routes.ts";

interface SpecDefaults {
  topicFor: (entity: string) => string;
  retry: RetryOptions | undefined;
  concurrency: number;
  dedupFor: (group: string) => DedupMemory;
}

/** Reads a listener's definition into what the runtime needs, or throws a startup error naming the problem. */
export function bindingSpec(listener: object, defaults: SpecDefaults): BindingSpec {
  const definition = definitionOf(listener);
  const name = nameOf(listener);
  const common = commonSpec(name, definition.options, defaults);
  if (definition.kind === "message") {
    const topics = asArray(definition.options.topic).map(validateTopic);
    if (typeof (listener as { onMessage?: unknown }).onMessage !== "function") {
      throw ListenerError.noHandlers(name, "a @Listen listener needs an onMessage(payload, meta) method");
    }
    return { ...common, topics, resolve: messageResolver(listener, definition.options) };
  }
  const entities = asArray(definition.options.entity).map(entityName);
  if (entities.length === 0) throw ListenerError.noHandlers(name, "@DataListener needs at least one entity");
  const routes = dataRoutes(listener, name, entities);
  const topics = definition.options.topic
    ? [validateTopic(definition.options.topic)]
    : [...new Set(entities.map(defaults.topicFor))];
  return { ...common, topics, resolve: dataResolver(listener, routes) };
}

function commonSpec(name: string, options: ListenerOptions, defaults: SpecDefaults) {
  const group = options.group ?? name;
  const concurrency = options.concurrency ?? defaults.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw ConfigError.invalidOption("concurrency", `expected an integer ≥ 1, got ${concurrency}`);
  }
  return {
    name,
    group,
    concurrency,
    retry: new RetryPolicy({ ...defaults.retry, ...options.retry }),
    dedup: options.dedup ? defaults.dedupFor(group) : undefined,
    inbox: options.inbox?.store,
  };
}

function asArray<T>(value: T | readonly T[]): T[] {
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}
