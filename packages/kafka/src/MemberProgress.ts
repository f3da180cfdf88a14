/**
 * What one consumer-group member of this process has done, for `KafkaTransport.drain()`: the
 * partitions the group gave it (unknown while it joins or rebalances) and, per partition, the
 * offset after the last message it finished (handled or dead-lettered).
 */
export class MemberProgress {
  #assignment: Map<string, Set<number>> | undefined;
  readonly #next = new Map<string, bigint>();
  readonly #listeners = new Set<() => void>();

  /** The group gave this member its partitions (kafkajs GROUP_JOIN). */
  joined(assignment: Record<string, number[]>): void {
    this.#assignment = new Map(Object.entries(assignment).map(([topic, partitions]) => [topic, new Set(partitions)]));
    this.#changed();
  }

  /** A rebalance began: which partitions are this member's is unknown until it joins again. */
  rebalancing(): void {
    this.#assignment = undefined;
    this.#changed();
  }

  /** The member left its group (closed): it owns nothing any more. */
  left(): void {
    this.joined({});
  }

  /** Everything before `next` on this partition is finished (never moves back). */
  finished(topic: string, partition: number, next: bigint): void {
    const key = `${topic}/${partition}`;
    if ((this.#next.get(key) ?? -1n) >= next) return;
    this.#next.set(key, next);
    this.#changed();
  }

  /** True when the partition is this member's, false when another member has it, undefined while joining. */
  owns(topic: string, partition: number): boolean | undefined {
    return this.#assignment ? (this.#assignment.get(topic)?.has(partition) ?? false) : undefined;
  }

  /** The offset after the last message finished on the partition, if any was. */
  next(topic: string, partition: number): bigint | undefined {
    return this.#next.get(`${topic}/${partition}`);
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
