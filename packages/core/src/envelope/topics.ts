import { ConfigError } from "../errors.ts";

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Throws `ConfigError` unless `topic` is a legal Kafka topic name; returns it otherwise. */
export function validateTopic(topic: string): string {
  if (typeof topic !== "string" || topic.length === 0) throw ConfigError.invalidTopic(String(topic), "it is empty");
  if (topic.length > 249) throw ConfigError.invalidTopic(topic, `it has ${topic.length} characters`);
  if (topic === "." || topic === "..") throw ConfigError.invalidTopic(topic, "it is reserved");
  if (!LEGAL.test(topic)) throw ConfigError.invalidTopic(topic, "it has characters outside [a-zA-Z0-9._-]");
  return topic;
}

/** How data events are named onto topics. */
export interface TopicOptions {
  /** Prefix of the default per-entity topic, `<prefix>.<Entity>`. Default "koper". */
  prefix?: string;
  /** Explicit topic per entity name, overriding the prefix rule. */
  byEntity?: Record<string, string>;
}

/** Maps an entity name to its topic: `byEntity[entity]`, else `<prefix>.<Entity>`. */
export function topicResolver(options: TopicOptions = {}): (entity: string) => string {
  const prefix = options.prefix ?? "koper";
  const byEntity = options.byEntity ?? {};
  for (const topic of Object.values(byEntity)) validateTopic(topic);
  const cache = new Map<string, string>();
  return (entity) => {
    let topic = cache.get(entity);
    if (topic === undefined) {
      topic = validateTopic(byEntity[entity] ?? `${prefix}.${entity}`);
      cache.set(entity, topic);
    }
    return topic;
  };
}

/** The dead-letter topic of a topic. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}
