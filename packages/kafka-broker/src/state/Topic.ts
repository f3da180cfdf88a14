import { Partition } from "./Partition.ts";

/** Per-topic settings taken from CreateTopics configs (the ones the broker honours). */
export interface TopicConfig {
  /** Byte budget per partition (`retention.bytes` when given at creation). */
  readonly maxPartitionBytes: number;
  /** `message.timestamp.type=LogAppendTime`: the broker stamps append time on batches. */
  readonly logAppendTime: boolean;
  /** `max.message.bytes`: the largest record batch accepted. */
  readonly maxMessageBytes: number;
}

const LEGAL_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** A topic: a name and its partitions (whose number only grows, as in Kafka). */
export class Topic {
  /** The topic's partitions, by index. */
  readonly partitions: Partition[];

  constructor(
    /** Topic name. */
    readonly name: string,
    partitionCount: number,
    /** Settings fixed at creation. */
    readonly config: TopicConfig,
    /** The settings given for this topic at creation (the rest came from the broker's defaults). */
    readonly overrides: readonly (keyof TopicConfig)[] = [],
  ) {
    this.partitions = [];
    this.grow(partitionCount);
  }

  /** Grows the topic to `count` partitions (CreatePartitions); the new ones are empty and start at offset 0. */
  grow(count: number): void {
    for (let i = this.partitions.length; i < count; i++) this.partitions.push(new Partition(i, this.config.maxPartitionBytes, this.config.logAppendTime));
  }

  /** Whether `name` is a legal Kafka topic name. */
  static isLegalName(name: string): boolean {
    return LEGAL_NAME.test(name) && name !== "." && name !== "..";
  }
}
