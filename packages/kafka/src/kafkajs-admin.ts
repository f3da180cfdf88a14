import type { Admin, ITopicConfig } from "kafkajs";
import type { OffsetsReader } from "./ProducedPartitions.ts";
import type { TopicAdmin } from "./TopicCreator.ts";

/** kafkajs's admin client as a `TopicAdmin`. */
export function kafkajsTopicAdmin(admin: Admin): TopicAdmin {
  return {
    connect: () => admin.connect(),
    disconnect: () => admin.disconnect(),
    async create(topics) {
      const configs: ITopicConfig[] = topics.map(({ topic, partitions, replicationFactor }) => ({
        topic,
        ...(partitions === undefined ? {} : { numPartitions: partitions }),
        ...(replicationFactor === undefined ? {} : { replicationFactor }),
      }));
      try {
        // Resolves false when the topics already exist: that is success here.
        await admin.createTopics({ topics: configs, waitForLeaders: true });
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
    },
  };
}

/** kafkajs's admin client as the drain's `OffsetsReader`. */
// kafkajs's admin reads one topic's end offsets per call (no multi-topic form): all topics at once.
export function kafkajsOffsets(admin: Admin): OffsetsReader {
  return {
    endOffsets: (topics) =>
      Promise.all(topics.map(async (topic) => ({ topic, partitions: (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, offset: high })) }))),
    committed: (groupId, topics) => admin.fetchOffsets({ groupId, topics: [...topics] }),
  };
}

// kafkajs reports a topic that exists among several created at once as a KafkaJSAggregateError.
function isAlreadyExists(error: unknown): boolean {
  const e = error as { type?: unknown; errors?: { type?: unknown }[] };
  if (e?.type === "TOPIC_ALREADY_EXISTS") return true;
  return Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every((x) => x?.type === "TOPIC_ALREADY_EXISTS");
}
