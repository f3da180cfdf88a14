// Shared scenario of the handler-context regression (issue 7, item 9), run in-process and over Kafka.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { currentContext, dataListener, listen, type DataEvent, type Koper, type KoperContext } from "@koper/core";
import { expect } from "vitest";

/** What one handler call saw. */
interface Seen {
  context: KoperContext | undefined;
  foreign: unknown;
  id: string | undefined;
  event?: DataEvent;
}

/** Another library's AsyncLocalStorage (nestjs-cls, OpenTelemetry): the publisher's value must not leak either. */
const foreign = new AsyncLocalStorage<{ user: number }>();

const traceparentOf = (i: number) => `00-${(i + 1).toString(16).padStart(32, "a")}-${randomBytes(8).toString("hex")}-01`;

/** Registers the scenario's listeners on `koper` (before start). */
export function contextListeners(koper: Koper, topic: string) {
  const orders = new Map<number, Seen>();
  const audits = new Map<number, DataEvent>();
  const messages = new Map<number, Seen>();
  const pause = () => new Promise((resolve) => setImmediate(resolve));
  koper.register(
    dataListener<{ id: number }>()({
      entity: "Order",
      group: `${topic}-orders`,
      onInsertOrder: async (order, event) => {
        await pause();
        orders.set(order.id, { context: currentContext(), foreign: foreign.getStore(), id: event.id, event });
        // The handler's own write: it must carry the original actor and point back at its cause.
        await koper.capture.record(undefined, { entity: "Audit", action: "insert", key: { id: order.id }, data: { id: order.id }, source: { orm: "test" } });
      },
    }),
    dataListener<{ id: number }>()({ entity: "Audit", group: `${topic}-audits`, onInsertAudit: (audit, event) => void audits.set(audit.id, event) }),
    listen<{ i: number }>({
      topic,
      group: `${topic}-messages`,
      onMessage: async (payload, meta) => {
        await pause();
        messages.set(payload.i, { context: currentContext(), foreign: foreign.getStore(), id: meta.id });
      },
    }),
  );
  return { orders, audits, messages };
}

/** `actors` concurrent users, each writing one order (half in a transaction) and sending one message. */
export async function writeAsActors(koper: Koper, topic: string, actors: number): Promise<void> {
  await Promise.all(
    Array.from({ length: actors }, (_, i) =>
      foreign.run({ user: i }, () =>
        koper.runWith({ actor: `user-${i}`, requestId: `req-${i}`, traceparent: traceparentOf(i) }, async () => {
          await new Promise((resolve) => setTimeout(resolve, i % 7));
          const draft = { entity: "Order", action: "insert" as const, key: { id: i }, data: { id: i }, source: { orm: "test" } };
          if (i % 2 === 0) {
            await koper.capture.record(undefined, draft);
          } else {
            const tx = {};
            koper.capture.begin(tx);
            await koper.capture.record(tx, draft);
            await koper.capture.commit(tx);
          }
          await koper.sender.send(topic, { i });
        }),
      ),
    ),
  );
}

/** Every handler ran in its own event's context: actor, request id, trace parent, causation. */
export function expectOwnContexts(seen: ReturnType<typeof contextListeners>, actors: number): void {
  const wrong: string[] = [];
  for (let i = 0; i < actors; i++) {
    const traceId = traceparentOf(i).split("-")[1];
    const order = seen.orders.get(i)!;
    const expected = { actor: `user-${i}`, requestId: `req-${i}`, causationId: order.id, traceparent: order.event!.trace!.traceparent };
    if (order.event!.trace!.traceparent.split("-")[1] !== traceId) wrong.push(`order ${i}: event trace is not a child of the request's`);
    if (!matches(order.context, expected)) wrong.push(`order ${i}: handler saw ${JSON.stringify(order.context)}`);
    if (order.foreign !== undefined) wrong.push(`order ${i}: handler saw the publisher's foreign store ${JSON.stringify(order.foreign)}`);
    const audit = seen.audits.get(i)!;
    if (!matches(audit.context, { actor: `user-${i}`, requestId: `req-${i}`, causationId: order.id })) {
      wrong.push(`audit ${i}: carried ${JSON.stringify(audit.context)}`);
    }
    if (audit.trace!.traceparent.split("-")[1] !== traceId) wrong.push(`audit ${i}: not in the request's trace`);
    const message = seen.messages.get(i)!;
    const context = message.context;
    if (!matches(context, { actor: `user-${i}`, requestId: `req-${i}`, causationId: message.id })) {
      wrong.push(`message ${i}: handler saw ${JSON.stringify(context)}`);
    }
    if (context?.traceparent?.split("-")[1] !== traceId) wrong.push(`message ${i}: trace ${context?.traceparent}`);
    if (message.foreign !== undefined) wrong.push(`message ${i}: handler saw the publisher's foreign store`);
  }
  expect(wrong).toEqual([]);
}

function matches(context: Record<string, unknown> | undefined, expected: Record<string, unknown>): boolean {
  return context !== undefined && Object.entries(expected).every(([field, value]) => context[field] === value);
}
