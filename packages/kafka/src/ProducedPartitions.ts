import { KafkaTransportError } from "./errors.ts";
import type { MemberProgress } from "./MemberProgress.ts";

/** A consumer-group member of this process, as the drain sees it. */
export interface DrainMember {
  subscription: { group: string; topics: readonly string[] };
  progress: MemberProgress;
}

/** Partitions and offsets as either Kafka client reports them. */
export interface PartitionOffsets {
  topic: string;
  partitions: { partition: number; offset: string | bigint }[];
}

/**
 * What the drain reads from the cluster, whichever client reads it: each topic's end offsets (high
 * watermarks) and a group's committed offsets (negative: none).
 */
export interface OffsetsReader {
  endOffsets(topics: readonly string[]): Promise<PartitionOffsets[]>;
  committed(groupId: string, topics: readonly string[]): Promise<PartitionOffsets[]>;
}

/** One partition a member must have finished up to `end` (the high watermark when the drain began). */
interface Target {
  member: DrainMember;
  topic: string;
  partition: number;
  end: bigint;
}

/**
 * The partitions this process produced to, and the wait behind `KafkaTransport.drain()`: until
 * this process's own members of the groups consuming them have finished everything the partitions
 * held when the drain began. A partition another member (another process) owns is not waited for.
 */
export class ProducedPartitions {
  readonly #produced = new Map<string, Set<number>>();

  /** Notes where a produce request's messages went. */
  record(results: readonly { topicName: string; partition: number }[]): void {
    for (const { topicName, partition } of results) {
      let partitions = this.#produced.get(topicName);
      if (!partitions) this.#produced.set(topicName, (partitions = new Set()));
      partitions.add(partition);
    }
  }

  /**
   * Resolves once every target is finished; rejects with `KafkaTransportError.drainDeadlineExceeded`
   * after `timeoutMs`, or `closed()` when `closed` is aborted first.
   */
  async drain(members: readonly DrainMember[], reader: () => Promise<OffsetsReader>, timeoutMs: number, closed: AbortSignal): Promise<void> {
    const topics = [...this.#produced.keys()].filter((topic) => members.some((m) => m.subscription.topics.includes(topic)));
    if (topics.length === 0) return;
    const client = await reader();
    const targets: Target[] = [];
    for (const { topic, partitions } of await client.endOffsets(topics)) {
      const produced = this.#produced.get(topic);
      if (!produced) continue;
      for (const { partition, offset } of partitions) {
        const high = BigInt(offset);
        if (!produced.has(partition) || high <= 0n) continue;
        for (const member of members) if (member.subscription.topics.includes(topic)) targets.push({ member, topic, partition, end: high });
      }
    }
    await committedBaseline(client, targets);
    return waitFor(targets, timeoutMs, closed);
  }
}

// A member that has finished nothing on a partition yet may start past a target (the group committed
// it earlier, or another member did before a rebalance): what the group committed counts as finished.
async function committedBaseline(reader: OffsetsReader, targets: readonly Target[]): Promise<void> {
  const unknown = targets.filter((t) => t.member.progress.next(t.topic, t.partition) === undefined);
  const groups = new Map<string, { topics: Set<string>; members: Set<DrainMember> }>();
  for (const { member, topic } of unknown) {
    const group = groups.get(member.subscription.group) ?? { topics: new Set<string>(), members: new Set<DrainMember>() };
    group.topics.add(topic);
    group.members.add(member);
    groups.set(member.subscription.group, group);
  }
  for (const [groupId, { topics, members }] of groups) {
    for (const { topic, partitions } of await reader.committed(groupId, [...topics])) {
      for (const { partition, offset } of partitions) {
        if (BigInt(offset) < 0n) continue;
        for (const member of members) member.progress.finished(topic, partition, BigInt(offset));
      }
    }
  }
}

function pending(targets: readonly Target[]): Target[] {
  return targets.filter(({ member, topic, partition, end }) => {
    const owns = member.progress.owns(topic, partition);
    return owns === undefined || (owns && (member.progress.next(topic, partition) ?? 0n) < end);
  });
}

function waitFor(targets: readonly Target[], timeoutMs: number, closed: AbortSignal): Promise<void> {
  if (pending(targets).length === 0) return Promise.resolve();
  if (closed.aborted) return Promise.reject(KafkaTransportError.closed());
  return new Promise<void>((resolve, reject) => {
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      for (const off of offs) off();
      closed.removeEventListener("abort", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onClose = () => finish(KafkaTransportError.closed());
    const check = () => {
      if (pending(targets).length === 0) finish();
    };
    const offs = [...new Set(targets.map((t) => t.member.progress))].map((progress) => progress.onChange(check));
    const timer = setTimeout(() => {
      const behind = pending(targets).map(({ member, topic, partition, end }) => ({
        group: member.subscription.group,
        topic,
        partition,
        finished: (member.progress.next(topic, partition) ?? 0n).toString(),
        end: end.toString(),
        joining: member.progress.owns(topic, partition) === undefined,
      }));
      finish(KafkaTransportError.drainDeadlineExceeded(timeoutMs, behind));
    }, timeoutMs);
    closed.addEventListener("abort", onClose, { once: true });
  });
}
