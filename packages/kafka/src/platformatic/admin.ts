import type { Admin } from "@platformatic/kafka";
import type { OffsetsReader } from "../ProducedPartitions.ts";
import type { TopicAdmin } from "../TopicCreator.ts";

/** @platformatic/kafka's admin client as a `TopicAdmin` (it connects on first use). */
export function platformaticTopicAdmin(admin: () => Admin): TopicAdmin {
  return {
    connect: async () => {},
    disconnect: async () => {},
    async create(topics) {
      const client = admin();
      for (const { topic, partitions, replicationFactor } of topics) {
        try {
          await client.createTopics({
            topics: [topic],
            ...(partitions === undefined ? {} : { partitions }),
            ...(replicationFactor === undefined ? {} : { replicas: replicationFactor }),
          });
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
        }
      }
    },
  };
}

function isAlreadyExists(error: unknown): boolean {
  const e = error as { apiId?: unknown; errors?: unknown[] };
  if (e?.apiId === "TOPIC_ALREADY_EXISTS") return true;
  return Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every(isAlreadyExists);
}

/** @platformatic/kafka's admin client as the drain's `OffsetsReader`. */
export function platformaticOffsets(admin: Admin): OffsetsReader {
  return {
    async endOffsets(topics) {
      const counts = await partitionCounts(admin, topics);
      const request = counts.map(([name, count]) => ({ name, partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }));
      const listed = await admin.listOffsets({ topics: request });
      return listed.map(({ name, partitions }) => ({ topic: name, partitions: partitions.map(({ partitionIndex, offset }) => ({ partition: partitionIndex, offset })) }));
    },
    async committed(groupId, topics) {
      const counts = await partitionCounts(admin, topics);
      const request = counts.map(([name, count]) => ({ name, partitionIndexes: Array.from({ length: count }, (_, i) => i) }));
      const [group] = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: request }] });
      return (group?.topics ?? []).map(({ name, partitions }) => ({
        topic: name,
        partitions: partitions.map(({ partitionIndex, committedOffset }) => ({ partition: partitionIndex, offset: committedOffset })),
      }));
    },
  };
}

async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<[string, number][]> {
  const { topics: metadata } = await admin.metadata({ topics: [...topics] });
  return topics.map((name) => [name, metadata.get(name)?.partitionsCount ?? 0]);
}

