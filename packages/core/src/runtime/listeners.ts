/* eslint-disable @typescript-eslint/no-explicit-any -- handler parameters are the user's to type */
import type { InboxStore } from "../inbox/SqlInboxStore.ts";
import type { DataEvent, Row } from "../envelope/DataEvent.ts";
import { ListenerError } from "../errors.ts";
import type { RetryOptions } from "./RetryPolicy.ts";
import type { StandardSchemaV1 } from "./standard-schema.ts";

/** What `onMessage` receives besides the payload. */
export interface MessageMeta {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  /** Koper's message id (header `koper-id`), when a Koper sender sent it. */
  id: string | undefined;
  /** 1 on the first attempt, then 2, 3… on retries. */
  attempt: number;
  /** The raw bytes, for payloads not sent by Koper. */
  raw: Uint8Array;
}

/** Settings every listener shares. */
export interface ListenerOptions {
  /** Consumer group: each group gets every message; members of one group share them. Default: the class name. */
  group?: string;
  /** Retry policy of this listener (overrides Koper's). */
  retry?: RetryOptions;
  /** Messages of different keys handled at once by this listener. Default Koper's `concurrency`. */
  concurrency?: number;
  /** Skip an event whose id this listener's group already handled (bounded memory of recent ids). */
  dedup?: boolean;
  /**
   * A durable inbox: the handler runs inside `store.run`, so its database work and the "event id
   * handled" row commit together, and a redelivered event (after a crash before the offset commit)
   * is skipped.
   */
  inbox?: { store: InboxStore };
}

/** Options of `@Listen`: plain messages of one or more topics. */
export interface ListenOptions extends ListenerOptions {
  topic: string | readonly string[];
  /** A schema the payload must satisfy (zod 3.24+/4, valibot, … any Standard Schema); a message that does not goes to the dead letter. */
  schema?: StandardSchemaV1;
}

/** An entity named by its name or by its class. */
export type EntityRef = string | (abstract new (...args: never[]) => unknown);

/** Options of `@DataListener`: data events of one or more entities. */
export interface DataListenerOptions extends ListenerOptions {
  entity: EntityRef | readonly EntityRef[];
  /** Read from this topic instead of the entity's configured one. */
  topic?: string;
}

/** A listener's definition as Koper keeps it. */
export type ListenerDefinition =
  | { kind: "message"; options: ListenOptions }
  | { kind: "data"; options: DataListenerOptions };

const DEFINITION = Symbol.for("koper.listener.definition");

type Marked = { [DEFINITION]?: ListenerDefinition };

type AnyClass = abstract new (...args: never[]) => unknown;

/** The actions as they appear in handler names. */
export type HandlerAction = "Insert" | "Update" | "Delete";

/**
 * Lifecycle hooks of application frameworks (NestJS) that a listener class may have: they look like
 * handlers (`on` + capital) but are never treated as ones, neither by `register` nor by `DataListenerOf`.
 */
export const FRAMEWORK_LIFECYCLE_METHODS = [
  "onModuleInit",
  "onApplicationBootstrap",
  "onModuleDestroy",
  "beforeApplicationShutdown",
  "onApplicationShutdown",
] as const;

/** A framework lifecycle method name: exempt from the handler-name check. */
export type FrameworkLifecycleMethod = (typeof FRAMEWORK_LIFECYCLE_METHODS)[number];

/** Every handler name a data listener of entity `E` may have. */
export type DataHandlerName<E extends string> =
  | `on${HandlerAction}${E}`
  | `on${HandlerAction}${E}_X`
  | `onBulk${HandlerAction}${E}`
  | `onBulk${HandlerAction}${E}_X`;

/** A row handler: the entity (after the write; before it, for delete) and the whole event. */
export type RowHandler<T> = (entity: T, event: DataEvent<T>) => unknown;
/** A bulk handler: no single entity is known, only the event with `bulk` set. */
export type BulkHandler<T> = (event: DataEvent<T>) => unknown;

/**
 * Checks a data listener type `L` for entity name `E`: a method named like a handler
 * (`on` + capital) that is not one of `DataHandlerName<E>` becomes `never`, a compile error.
 * Framework lifecycle hooks (`FRAMEWORK_LIFECYCLE_METHODS`, e.g. `onModuleInit`) are not handlers and pass.
 * Use as `class OrderListener implements DataListenerOf<OrderListener, "Order", Order>`.
 */
export type DataListenerOf<L, E extends string, T = any> = {
  [K in keyof L]: K extends FrameworkLifecycleMethod
    ? L[K]
    : K extends `on${infer Rest}`
    ? Rest extends Capitalize<Rest>
      ? K extends DataHandlerName<E>
        ? K extends `onBulk${string}`
          ? BulkHandler<T>
          : RowHandler<T>
        : never
      : L[K]
    : L[K];
};

/** The handlers of a function-API data listener of entity `E`. */
export type DataHandlers<E extends string, T = Row> = {
  [K in DataHandlerName<E>]?: K extends `onBulk${string}` ? BulkHandler<T> : RowHandler<T>;
};

/** Class decorator that works both as a legacy (`experimentalDecorators`) and a TC39 decorator. */
export type ListenerDecorator = <C extends AnyClass>(
  target: C & (abstract new (...args: never[]) => { onMessage(payload: never, meta: MessageMeta): unknown }),
  context?: ClassDecoratorContext,
) => void;

/** Data listener class decorator; its target's handler names are checked against entity `E`. */
export type DataListenerDecorator<E extends string, T> = <C extends AnyClass>(
  target: C & (abstract new (...args: never[]) => DataListenerOf<InstanceType<C>, E, T>),
  context?: ClassDecoratorContext,
) => void;

/** Marks a class as a listener of plain messages; its `onMessage(payload, meta)` gets them. */
export function Listen(options: ListenOptions): ListenerDecorator {
  return (target) => mark(target, { kind: "message", options });
}

/**
 * Marks a class as a listener of data events. With `entity` given by name, a misspelt handler
 * name is a compile error (`@DataListener<"Order", Order>(…)` also types what handlers get);
 * given by class, handlers are typed by the class and their action names are checked.
 * Handlers' parameters are not checked unless `T` is given: a listener may type them freely.
 */
export function DataListener<const E extends string, T = any>(
  options: DataListenerOptions & { entity: E | readonly E[] },
): DataListenerDecorator<E, T>;
export function DataListener<C extends AnyClass>(
  options: DataListenerOptions & { entity: C },
): DataListenerDecorator<string, InstanceType<C>>;
export function DataListener(options: DataListenerOptions): DataListenerDecorator<string, any>;
export function DataListener(options: DataListenerOptions): DataListenerDecorator<string, any> {
  return (target) => mark(target, { kind: "data", options });
}

/** A plain-message listener built without decorators. */
export function listen<P = unknown>(
  options: ListenOptions & { onMessage(payload: P, meta: MessageMeta): unknown },
): { onMessage(payload: P, meta: MessageMeta): unknown } {
  const { onMessage, ...rest } = options;
  return markObject({ onMessage }, { kind: "message", options: rest });
}

/** A data listener built without decorators: `dataListener<Order>()({ entity: "Order", onInsertOrder … })`. */
export function dataListener<T = Row>() {
  return <const E extends string>(options: DataListenerOptions & { entity: E | readonly E[] } & DataHandlers<E, T>) => {
    const { entity, group, retry, concurrency, dedup, topic, inbox, ...handlers } = options;
    const definition: DataListenerOptions = { entity, ...defined({ group, retry, concurrency, dedup, topic, inbox }) };
    return markObject({ ...handlers } as unknown as DataHandlers<E, T>, { kind: "data", options: definition });
  };
}

/** The definition of a listener instance (from its class or its object), or a clear error. */
export function definitionOf(listener: object): ListenerDefinition {
  const own = (listener as Marked)[DEFINITION];
  const definition = own ?? ((listener.constructor as Marked | undefined)?.[DEFINITION]);
  if (!definition) throw ListenerError.notAListener(nameOf(listener));
  return definition;
}

/**
 * True when `value` is a Koper listener: an instance of a class decorated with `@Listen` or
 * `@DataListener`, such a class itself, or an object built with `listen(...)` / `dataListener(...)`.
 * Framework integrations use it to find listeners among their providers.
 */
export function isListener(value: unknown): boolean {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  if ((value as Marked)[DEFINITION] !== undefined) return true;
  const ctor = (value as { constructor?: unknown }).constructor;
  return typeof ctor === "function" && (ctor as Marked)[DEFINITION] !== undefined;
}

/** The name Koper uses for a listener in errors, defaults and lifecycle events. */
export function nameOf(listener: object): string {
  const ctor = listener.constructor;
  return ctor && ctor !== Object ? ctor.name : "listener";
}

/** The entity name of an entity reference. */
export function entityName(ref: EntityRef): string {
  return typeof ref === "string" ? ref : ref.name;
}

function mark(target: object, definition: ListenerDefinition): void {
  Object.defineProperty(target, DEFINITION, { value: definition, configurable: true });
}

function markObject<O extends object>(object: O, definition: ListenerDefinition): O {
  Object.defineProperty(object, DEFINITION, { value: definition, enumerable: false });
  return object;
}

function defined<O extends Record<string, unknown>>(object: O): Partial<O> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<O>;
}
