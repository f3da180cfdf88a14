import type { StateStore } from "../store/DataDir.ts";
import { Group } from "./Group.ts";
import { Topic, type TopicConfig } from "./Topic.ts";

/**
 * Everything a broker keeps between restarts: topics with their logs, consumer groups with their
 * committed offsets, and the producer id counter. Pass it to `startBroker({ state })` to restart
 * a broker with the same data; live group membership is dropped on stop, as sessions end.
 */
export class BrokerState {
  /** Topics by name. */
  readonly topics = new Map<string, Topic>();
  /** Consumer groups by id. */
  readonly groups = new Map<string, Group>();
  /** Cluster id reported in Metadata v2+. */
  readonly clusterId = `koper-${Math.random().toString(36).slice(2, 12)}`;
  /** Last producer id handed out by InitProducerId. */
  lastProducerId = 999;
  /** Set while a broker serves this state, so two brokers never share it. */
  inUse = false;
  /** Where changes are persisted (`dataDir`); none for a purely in-memory broker. */
  store: StateStore | undefined;

  /** Creates a topic (`overrides`: the settings given for it); returns false when it already exists. */
  createTopic(name: string, partitions: number, config: TopicConfig, overrides: readonly (keyof TopicConfig)[] = []): boolean {
    if (this.topics.has(name)) return false;
    const topic = new Topic(name, partitions, config, overrides);
    this.topics.set(name, topic);
    this.store?.topicCreated(topic);
    return true;
  }

  /** Grows a topic to `count` partitions (CreatePartitions); the caller has checked that `count` is larger. */
  addPartitions(topic: Topic, count: number): void {
    const from = topic.partitions.length;
    topic.grow(count);
    this.store?.partitionsAdded(topic, from);
  }

  /**
   * Deletes a topic, its data and every group's committed offsets for it, as Kafka does
   * (GroupCoordinator.handleDeletedPartitions): a topic created again under the same name is read
   * from its start, not from the old topic's offsets. Returns false when it does not exist.
   */
  deleteTopic(name: string): boolean {
    if (!this.topics.delete(name)) return false;
    for (const group of this.groups.values()) group.offsets.delete(name);
    this.store?.topicDeleted(name);
    return true;
  }

  /** Returns the group with this id, creating an empty one on first use. */
  group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new Group(groupId, (topic, partition, offset) => this.store?.offsetCommitted(groupId, topic, partition, offset));
      this.groups.set(groupId, group);
    }
    return group;
  }

  /** Deletes an empty group with its committed offsets (DeleteGroups); the caller checks it has no members. */
  deleteGroup(groupId: string): boolean {
    if (!this.groups.delete(groupId)) return false;
    this.store?.groupDeleted(groupId);
    return true;
  }

  /** Hands out the next producer id. */
  nextProducerId(): number {
    this.lastProducerId += 1;
    this.store?.producerIdsChanged(this.lastProducerId);
    return this.lastProducerId;
  }
}
