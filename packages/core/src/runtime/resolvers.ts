import { decode } from "../envelope/codec.ts";
import { DataEvent } from "../envelope/DataEvent.ts";
import { isPlainEvent } from "../envelope/envelope-check.ts";
import { copyEvent } from "../envelope/local-copy.ts";
import { LocalEvent } from "../envelope/LocalEvent.ts";
import { isTraceparent } from "../envelope/trace.ts";
import { decodeEvent } from "../envelope/wire.ts";
import { EnvelopeError } from "../errors.ts";
import type { KoperContext } from "../context/context.ts";
import type { DeliveredMessage } from "../transports/Transport.ts";
import { CONTENT_TYPE, CONTENT_TYPE_V2, Headers } from "./headers.ts";
import type { ListenOptions, MessageMeta } from "./listeners.ts";
import { findRoute, type DataRoutes } from "./routes.ts";
import { issuePaths } from "./standard-schema.ts";

/** A message turned into a call of one handler. */
export interface Resolved {
  id: string | undefined;
  /** Set for data events, so the runtime can stamp and measure them. */
  event?: DataEvent;
  sentAt?: number;
  /** The context the handler runs in: built from this message alone, never from the publisher's scope. */
  context: KoperContext;
  /** Calls the handler: its result (a promise for an async one); a synchronous throw is the attempt's failure too. */
  invoke(attempt: number): unknown;
}

/** Decodes a delivered message and picks its handler; null when the listener has none for it. */
export type Resolver = (message: DeliveredMessage) => Resolved | null;

type Callable = (...args: unknown[]) => unknown;

/** Resolver of a `@Listen` listener: decodes Koper's codec, or gives foreign payloads as text. */
export function messageResolver(listener: object, options: ListenOptions): Resolver {
  const onMessage = (listener as { onMessage?: Callable }).onMessage;
  return (message) => {
    let payload = payloadOf(message);
    if (options.schema) {
      const result = options.schema["~standard"].validate(payload);
      if (result instanceof Promise) throw EnvelopeError.invalidPayload(message.topic, "the schema validates asynchronously; give a synchronous one");
      if (result.issues) throw EnvelopeError.invalidPayload(message.topic, formatIssues(issuePaths(result.issues)), result.issues);
      payload = result.value;
    }
    const id = message.headers[Headers.id];
    const sentAt = Number(message.headers[Headers.sentAt]);
    const resolved: Resolved = {
      id,
      context: messageContext(message, id),
      // Method shorthand: an arrow named by its property gets a per-call __name() wrapper under tsx.
      invoke(attempt) {
        return onMessage!.call(listener, payload, metaOf(message, id, attempt));
      },
    };
    if (Number.isFinite(sentAt)) resolved.sentAt = sentAt;
    return resolved;
  };
}

/**
 * Resolver of a `@DataListener`: validates the envelope, then routes by entity/action/outcome.
 * An event Koper built in this process (handed over by the in-process transport) is copied instead
 * of decoded: the copy is what decoding its bytes would give, and this delivery's own.
 */
export function dataResolver(listener: object, routes: DataRoutes): Resolver {
  return (message) => {
    const local = message.event instanceof LocalEvent ? message.event.checked() : undefined;
    const checked = local ?? validEvent(decodeEvent(message.value, message.headers));
    const route = findRoute(routes, checked);
    if (!route) return null;
    const event = local ? copyEvent(checked) : checked;
    const handler = (listener as Record<string, Callable>)[route.method]!;
    const entity = event.action === "delete" ? (event.before ?? event.key) : (event.data ?? event.before);
    return {
      id: event.id,
      event,
      context: eventContext(event),
      invoke() {
        return route.bulk ? handler.call(listener, event) : handler.call(listener, entity, event);
      },
    };
  };
}

// Koper's codec decoded (a v2 data event as the DataEvent it carries); a foreign payload as text.
function payloadOf(message: DeliveredMessage): unknown {
  const type = message.headers[Headers.contentType];
  if (type === CONTENT_TYPE) return decode(message.value);
  if (type === CONTENT_TYPE_V2) return decodeEvent(message.value, message.headers);
  return Buffer.from(message.value).toString("utf8");
}

/** A decoded envelope checked: by hand when it has the common shape, by zod (and its messages) otherwise. */
export function validEvent(decoded: unknown): DataEvent {
  if (isPlainEvent(decoded)) return decoded;
  const parsed = DataEvent.safeParse(decoded);
  if (!parsed.success) throw EnvelopeError.invalid(formatIssues(parsed.error.issues), parsed.error);
  return parsed.data as DataEvent;
}

/** A data event's handler context: its actor, request id and extras, its span as parent, itself as cause. */
export function eventContext(event: DataEvent): KoperContext {
  const context = { ...event.context, causationId: event.id } as KoperContext;
  if (event.trace) context.traceparent = event.trace.traceparent;
  return context;
}

/** A plain message's handler context, read from the headers its sender wrote. */
export function messageContext(message: DeliveredMessage, id: string | undefined): KoperContext {
  const context: KoperContext = {};
  const carried = message.headers[Headers.context];
  if (carried !== undefined) {
    try {
      const parsed: unknown = JSON.parse(carried);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) Object.assign(context, parsed);
    } catch {
      // A foreign or damaged header: the message is still delivered, with what else is known.
    }
  }
  const traceparent = message.headers[Headers.traceparent];
  if (isTraceparent(traceparent)) context.traceparent = traceparent;
  if (id !== undefined) context.causationId = id;
  return context;
}

function metaOf(message: DeliveredMessage, id: string | undefined, attempt: number): MessageMeta {
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    headers: message.headers,
    id,
    attempt,
    raw: message.value,
  };
}

/** Zod issues as one readable line: `time.occurred: expected number, received undefined; …`. */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 10)
    .map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}
