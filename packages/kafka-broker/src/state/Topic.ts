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

/** A topic: a name and its partitions. */
export class Topic {
  /** The topic's partitions, by index. */
  readonly partitions: Partition[];

  constructor(
    /** Topic name. */
    readonly name: string,
    partitionCount: number,
    /** Settings fixed at creation. */
    readonly config: TopicConfig,
  ) {
    this.partitions = Array.from({ length: partitionCount }, (_, i) => new Partition(i, config.maxPartitionBytes, config.logAppendTime));
  }

  /** Whether `name` is a legal Kafka topic name. */
  static isLegalName(name: string): boolean {
    return LEGAL_NAME.test(name) && name !== "." && name !== "..";
  }
}
