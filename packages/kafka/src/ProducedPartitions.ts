import type { Admin, RecordMetadata } from "kafkajs";
import { KafkaTransportError } from "./errors.ts";
import type { MemberProgress } from "./MemberProgress.ts";

/** A consumer-group member of this process, as the drain sees it. */
export interface DrainMember {
  subscription: { group: string; topics: readonly string[] };
  progress: MemberProgress;
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
  record(results: readonly RecordMetadata[]): void {
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
  async drain(members: readonly DrainMember[], admin: () => Promise<Admin>, timeoutMs: number, closed: AbortSignal): Promise<void> {
    const topics = [...this.#produced.keys()].filter((topic) => members.some((m) => m.subscription.topics.includes(topic)));
    if (topics.length === 0) return;
    const client = await admin();
    // kafkajs's admin reads one topic's end offsets per call (no multi-topic form): all topics at once.
    const ends = await Promise.all(topics.map((topic) => client.fetchTopicOffsets(topic)));
    const targets: Target[] = [];
    topics.forEach((topic, i) => {
      const produced = this.#produced.get(topic)!;
      for (const { partition, high } of ends[i]!) {
        if (!produced.has(partition) || BigInt(high) <= 0n) continue;
        for (const member of members) if (member.subscription.topics.includes(topic)) targets.push({ member, topic, partition, end: BigInt(high) });
      }
    });
    await committedBaseline(client, targets);
    return waitFor(targets, timeoutMs, closed);
  }
}

// A member that has finished nothing on a partition yet may start past a target (the group committed
// it earlier, or another member did before a rebalance): what the group committed counts as finished.
async function committedBaseline(admin: Admin, targets: readonly Target[]): Promise<void> {
  const unknown = targets.filter((t) => t.member.progress.next(t.topic, t.partition) === undefined);
  const groups = new Map<string, { topics: Set<string>; members: Set<DrainMember> }>();
  for (const { member, topic } of unknown) {
    const group = groups.get(member.subscription.group) ?? { topics: new Set<string>(), members: new Set<DrainMember>() };
    group.topics.add(topic);
    group.members.add(member);
    groups.set(member.subscription.group, group);
  }
  for (const [groupId, { topics, members }] of groups) {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
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
