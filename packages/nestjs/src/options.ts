import type { ContextSupplier, Koper, KoperContext, KoperOptions } from "@koper/core";
import type { LoggerService, MiddlewareConsumer, Type } from "@nestjs/common";
import type { KoperHandlerScope } from "./handler-scopes.ts";

/** A route as `MiddlewareConsumer.exclude` takes it. */
export type KoperRoute = Parameters<ReturnType<MiddlewareConsumer["apply"]>["exclude"]>[number];

/** Connects an ORM to the module's Koper, e.g. `(koper) => koperTypeorm(dataSource, koper)`; its handle is detached at shutdown. */
export type KoperAttachment = (koper: Koper) => { detach(): void } | void;

/** The request as the HTTP adapter hands it to middleware (Express or Fastify). */
export interface KoperHttpRequest {
  headers: Record<string, string | string[] | undefined>;
  [field: string]: unknown;
}

/** How the per-request middleware and the actor interceptor read a request. */
export interface KoperHttpOptions {
  /** Routes the context middleware runs on. Default every route (`{*all}`). */
  path?: string;
  /** Routes it skips. */
  exclude?: KoperRoute[];
  /** The request id. Default: header `x-request-id`, else a new UUID. */
  requestId?: (request: KoperHttpRequest) => string | undefined;
  /** Extra context fields of a request (e.g. tenant), set by the middleware. */
  context?: (request: KoperHttpRequest) => KoperContext | undefined;
  /** The actor, read by `KoperActorInterceptor` after guards ran. Default `request.user.id`. */
  actor?: (request: KoperHttpRequest) => string | undefined;
}

/** What `KoperModule.forRoot` (or `forRootAsync`'s factory) takes. */
export interface KoperModuleOptions {
  /** Koper's options, or a Koper you built yourself. Default `{}` (in-process transport). */
  koper?: KoperOptions | Koper;
  /** ORMs to attach when the Koper is created, before any module's `onModuleInit` writes. */
  attach?: KoperAttachment[];
  /** Register and run the discovered listeners. Default true; false for publish-only processes. */
  consume?: boolean;
  /** The per-request context middleware; `false` mounts none. */
  http?: false | KoperHttpOptions;
  /** Provider classes run around every handler call, first listed outermost (e.g. a RequestContext per call). */
  handlerScopes?: Type<KoperHandlerScope>[];
  /** Capture-time context supplier (e.g. from nestjs-cls), merged under `runWith`'s fields. */
  context?: ContextSupplier;
  /** Where lifecycle warnings and handler failures are logged. Default Nest's `Logger`; `false` logs nothing. */
  logger?: boolean | LoggerService;
  /** How long shutdown waits for in-flight work. Default Koper's `stopDeadlineMs` (10 s). */
  stopDeadlineMs?: number;
  /** Warn at boot when `app.enableShutdownHooks()` was not called. Default true. */
  warnWithoutShutdownHooks?: boolean;
}
