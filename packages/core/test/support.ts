import { randomBytes } from "node:crypto";
import { listen, type DataEvent, type MessageMeta } from "@koper/core";

/** A topic or group name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs` (a bound, never an assertion on speed). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** An insert draft of entity `Order`. */
export function orderDraft(id: number, action: DataEvent["action"] = "insert") {
  return {
    entity: "Order",
    action,
    key: { id },
    data: action === "delete" ? null : { id, qty: id },
    ...(action === "delete" ? { before: { id, qty: id } } : {}),
    source: { orm: "test" },
  };
}

/** Fast, deterministic retries for tests. */
export const fastRetry = { retries: 2, initialDelayMs: 1, maxDelayMs: 5, jitter: 0 };

/** A listener of `<topic>.dlq` in a group of its own, collecting what reaches the dead letter. */
export function deadLetters(topic: string) {
  const received: { payload: unknown; meta: MessageMeta }[] = [];
  const listener = listen({
    topic: `${topic}.dlq`,
    group: unique("dlq"),
    onMessage: (payload, meta) => void received.push({ payload, meta }),
  });
  return { listener, received };
}
