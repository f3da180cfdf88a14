import type { Subscription } from "@koper/core";
import type { EachBatchPayload, KafkaMessage, Logger } from "kafkajs";
import type { InFlightLimit } from "./InFlightLimit.ts";
import type { MemberProgress } from "./MemberProgress.ts";
import { toDeliveredMessage } from "./messages.ts";

/** What the batch handler of one subscription shares across its partitions. */
export interface BatchDeps {
  subscription: Subscription;
  limit: InFlightLimit;
  logger: () => Logger;
  /** How often the handler heartbeats while it waits (kafkajs skips beats that are not due yet). */
  heartbeatEveryMs: number;
  /** Pause before a message whose `handle` rejected is fetched again. */
  redeliveryDelayMs: number;
  /**
   * Per "topic/partition", the offset after the last message this member finished whose commit
   * failed (the broker went away). Shared across batches and kafkajs's own restarts, so after a
   * rejoin those messages are committed, not handled again.
   */
  finished: Map<string, bigint>;
  /** Told what this member finished, for `KafkaTransport.drain()`. */
  progress?: MemberProgress;
}

/**
 * Handles one fetched batch of one partition: hands every message to the runtime in offset order
 * without waiting for the previous one (the runtime keeps each key in order), at most
 * `maxInFlight` outstanding; then commits the offset after the longest run of finished messages.
 * Returns only when nothing it handed out is still running, so a rebalance or `close()` never
 * revokes a partition with work in flight, and never commits past a message that is not done.
 */
export async function handleBatch(payload: EachBatchPayload, deps: BatchDeps): Promise<void> {
  const { batch, isRunning, isStale } = payload;
  const partitionKey = `${batch.topic}/${batch.partition}`;
  const alreadyDone = deps.finished.get(partitionKey) ?? -1n;
  const messages = alreadyDone < 0n ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) >= alreadyDone);
  const outcomes: Promise<boolean>[] = [];
  let interrupted: { error: unknown } | undefined;
  let failed = false;
  const beat = () =>
    payload.heartbeat().catch((error: unknown) => {
      // A rebalance or a lost session: stop taking messages, finish and commit, then let kafkajs rejoin.
      interrupted ??= { error };
    });
  const heartbeats = setInterval(() => void beat(), deps.heartbeatEveryMs);
  try {
    for (const message of messages) {
      if (failed || interrupted || !isRunning() || isStale()) break;
      // Only a wait for a slot lets the state above change before this message is handed out.
      if (!deps.limit.tryAcquire()) {
        await deps.limit.acquire();
        if (failed || interrupted || isStale()) {
          deps.limit.release();
          break;
        }
      }
      // `failed` is set before the slot is released, so the loop hands out nothing after a rejection:
      // the key's next message to run is the redelivered one (KeyedScheduler holds back what was queued).
      outcomes.push(handleOne(batch.topic, batch.partition, message, deps, () => (failed = true)));
    }
    const done = contiguousDone(await Promise.all(outcomes));
    const next = done > 0 ? BigInt(messages[done - 1]!.offset) + 1n : -1n;
    if (next >= 0n) deps.progress?.finished(batch.topic, batch.partition, next);
    await commit(payload, next > alreadyDone ? next : alreadyDone, deps.finished, partitionKey);
    if (failed && isRunning()) await pause(deps.redeliveryDelayMs, isRunning);
  } finally {
    clearInterval(heartbeats);
  }
  if (interrupted) throw interrupted.error;
}

// Resolves true when the runtime is done with the message, false when it must come again.
function handleOne(topic: string, partition: number, message: KafkaMessage, deps: BatchDeps, onRejected: () => void): Promise<boolean> {
  let handling: Promise<void>;
  try {
    handling = deps.subscription.handle(toDeliveredMessage(topic, partition, message));
  } catch (error) {
    handling = Promise.reject(error);
  }
  return handling.then(
    () => {
      deps.limit.release();
      return true;
    },
    (error: unknown) => {
      onRejected();
      deps.limit.release();
      const context = { topic, partition, offset: message.offset, error: error instanceof Error ? error.message : String(error) };
      if ((error as { code?: unknown })?.code === "redelivery_pending") deps.logger().debug("Message held behind a rejected one of its key; it will be delivered again", context);
      else deps.logger().error("Message could be neither handled nor dead-lettered; it will be delivered again", context);
      return false;
    },
  );
}

function contiguousDone(outcomes: boolean[]): number {
  const firstFailed = outcomes.indexOf(false);
  return firstFailed === -1 ? outcomes.length : firstFailed;
}

// Moves the fetch position past the finished run and commits it; the rest is fetched again. A
// failed commit is remembered, so a rejoin does not hand the finished messages out again.
async function commit(payload: EachBatchPayload, next: bigint, finished: Map<string, bigint>, key: string): Promise<void> {
  if (next < 0n) return;
  const { batch } = payload;
  payload.resolveOffset((next - 1n).toString());
  try {
    await payload.commitOffsetsIfNecessary({
      topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next.toString() }] }],
    });
    if ((finished.get(key) ?? -1n) <= next) finished.delete(key);
  } catch (error) {
    finished.set(key, next);
    throw error;
  }
}

// Waits before redelivery (a broker outage is the usual reason) but lets close() cut it short.
async function pause(ms: number, isRunning: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (isRunning() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}
