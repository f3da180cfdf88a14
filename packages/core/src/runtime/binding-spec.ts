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
  if (definition.kind === "message") {
    const topics = asArray(definition.options.topic).map(validateTopic);
    if (typeof (listener as { onMessage?: unknown }).onMessage !== "function") {
      throw ListenerError.noHandlers(name, "a @Listen listener needs an onMessage(payload, meta) method");
    }
    return { ...commonSpec(listener, name, topics, definition.options, defaults), topics, resolve: messageResolver(listener, definition.options) };
  }
  const entities = asArray(definition.options.entity).map(entityName);
  if (entities.length === 0) throw ListenerError.noHandlers(name, "@DataListener needs at least one entity");
  const routes = dataRoutes(listener, name, entities);
  const topics = definition.options.topic
    ? [validateTopic(definition.options.topic)]
    : [...new Set(entities.map(defaults.topicFor))];
  return { ...commonSpec(listener, name, topics, definition.options, defaults), topics, resolve: dataResolver(listener, routes) };
}

/**
 * A listener's consumer group: its `group`, else its class name; an object made by `listen()` or
 * `dataListener()` has no class, so it is named by what it consumes (`listener:koper.Order`), the
 * same in every process running the same code.
 */
function defaultGroup(listener: object, name: string, topics: readonly string[]): string {
  return listener.constructor === Object || !listener.constructor ? `${name}:${[...topics].sort().join(",")}` : name;
}

function commonSpec(listener: object, name: string, topics: readonly string[], options: ListenerOptions, defaults: SpecDefaults) {
  const group = options.group ?? defaultGroup(listener, name, topics);
  const concurrency = options.concurrency ?? defaults.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw ConfigError.invalidOption("concurrency", `expected an integer ≥ 1, got ${concurrency}`);
  }
  return {
    name,
    group,
    explicitGroup: options.group !== undefined,
    concurrency,
    retry: new RetryPolicy({ ...defaults.retry, ...options.retry }),
    dedup: options.dedup ? defaults.dedupFor(group) : undefined,
    inbox: options.inbox?.store,
  };
}

function asArray<T>(value: T | readonly T[]): T[] {
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

/**
 * Records `spec`'s consumer group among one Koper's listeners, or refuses a second listener in it:
 * members of one group share its messages, so two listeners that fell into one group by default
 * would each get only part of the events, and (over Kafka, whose client assigns a group's partitions
 * whatever each member subscribed to) two listeners of different topics in one group would starve.
 * Listeners that name the same `group` for the same topics share its work, as asked.
 */
export function claimGroup(groups: Map<string, BindingSpec>, spec: BindingSpec): void {
  const other = groups.get(spec.group);
  if (!other) return void groups.set(spec.group, spec);
  const sameTopics = [...other.topics].sort().join(",") === [...spec.topics].sort().join(",");
  if (other.explicitGroup && spec.explicitGroup && sameTopics) return;
  const why = sameTopics
    ? "each would get only part of its events"
    : `they consume different topics (${other.topics.join(", ")} / ${spec.topics.join(", ")}), and over Kafka one of them would get nothing`;
  throw ConfigError.invalidOption(
    "group",
    `listeners ${other.name} and ${spec.name} are both in consumer group "${spec.group}": ${why}; give each its own \`group\``,
  );
}
