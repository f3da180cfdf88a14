import { Koper, isKoperError, type LifecycleEvent } from "@koper/core";
import { Inject, Injectable, Logger, type LoggerService, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit, type Type } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import { withScopes, type KoperHandlerScope } from "./handler-scopes.ts";
import { MODULE_OPTIONS_TOKEN } from "./koper.module-definition.ts";
import { ListenerExplorer } from "./ListenerExplorer.ts";
import type { KoperModuleOptions } from "./options.ts";

/** Handles of the attached ORMs, created with the Koper (before any module's `onModuleInit` writes). */
export const KOPER_ATTACHMENTS = Symbol.for("koper.nestjs.attachments");

/**
 * Koper's part of the Nest lifecycle:
 * - `onModuleInit`: registers the discovered listeners (a bad one fails boot, naming class and method);
 * - `onApplicationBootstrap`: `koper.start()` — writes made earlier (say in `onModuleInit`) are delivered now;
 * - `onApplicationShutdown`: `koper.stop()`, logging a `StopError`, then detaches the ORMs. It lives in a
 *   non-global module, so Nest calls it before the global ORM modules close their connections.
 */
@Injectable()
export class KoperLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger: LoggerService | undefined;
  readonly #unsubscribe: (() => void)[] = [];
  // Signal listeners when the providers were created: app.enableShutdownHooks() comes after that, before init().
  readonly #signalListenersAtCreation = signalListeners();

  constructor(
    @Inject(Koper) private readonly koper: Koper,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KoperModuleOptions,
    @Inject(ListenerExplorer) private readonly explorer: ListenerExplorer,
    @Inject(KOPER_ATTACHMENTS) private readonly attachments: { detach(): void }[],
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    const logger = options.logger ?? true;
    this.#logger = logger === true ? new Logger("Koper") : logger === false ? undefined : logger;
  }

  async onModuleInit(): Promise<void> {
    this.#logLifecycle();
    if (this.options.consume === false) return;
    const listeners = this.explorer.listeners(this.#logger);
    const scopes = await Promise.all((this.options.handlerScopes ?? []).map((scope) => this.#scope(scope)));
    this.koper.register(...listeners.map((listener) => withScopes(listener, scopes)));
    this.#logger?.log?.(`registered ${listeners.length} listener(s)`);
  }

  // A scope the application provides is used as is; a ready-made one nobody provides (e.g.
  // MikroOrmRequestContextScope) is instantiated here with its dependencies injected.
  async #scope(scope: Type<KoperHandlerScope>): Promise<KoperHandlerScope> {
    try {
      return this.moduleRef.get(scope, { strict: false });
    } catch {
      return this.moduleRef.create(scope);
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.koper.start();
    const hooked = signalListeners() > this.#signalListenersAtCreation;
    if (!hooked && this.options.warnWithoutShutdownHooks !== false) {
      this.#logger?.warn(
        "app.enableShutdownHooks() was not called: on SIGTERM the process ends without koper.stop(), and events " +
          "accepted but not yet handled are lost. Call it in main.ts (or set warnWithoutShutdownHooks: false).",
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.koper.stop(this.options.stopDeadlineMs === undefined ? {} : { deadlineMs: this.options.stopDeadlineMs });
    } catch (error) {
      // Never thrown past Nest: the other modules (the ORM's connection) must still close.
      const message = isKoperError(error) ? `${error.message} ${JSON.stringify(error.details)}` : String(error);
      this.#logger?.error(`koper.stop() did not finish cleanly: ${message}`);
    } finally {
      for (const off of this.#unsubscribe.splice(0)) off();
      for (const attachment of this.attachments) attachment.detach();
    }
  }

  // Handler failures, dead letters and lost events go to the Nest logger: Koper's retries and dead
  // letters are the error path of handlers, not Nest's exception filters.
  #logLifecycle(): void {
    const logger = this.#logger;
    if (!logger) return;
    const on = <K extends "handler_failed" | "dead_lettered" | "publish_failed" | "dropped">(type: K, log: (e: LifecycleEvent<K>) => void) =>
      this.#unsubscribe.push(this.koper.on(type, log));
    on("handler_failed", ({ payload: p }) =>
      logger.warn(`${p.listener} failed on ${p.topic} (event ${p.id}, attempt ${p.attempt}${p.willRetry ? `, retrying in ${Math.round(p.delayMs)} ms` : ""}): ${messageOf(p.error)}`),
    );
    on("dead_lettered", ({ payload: p }) =>
      logger.error(`${p.listener} gave up on event ${p.id} after ${p.attempts} attempt(s); sent to ${p.deadLetterTopic}: ${p.reason}`),
    );
    on("publish_failed", ({ payload: p }) => logger.error(`${p.ids.length} event(s) for ${p.topic} were not published: ${p.error.message} (ids ${p.ids.join(", ")})`));
    on("dropped", ({ payload: p }) => logger.warn(`${p.ids.length} event(s) dropped (${p.reason}): ${p.ids.join(", ")}`));
  }
}

const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR2"] as const;

function signalListeners(): number {
  return SIGNALS.reduce((n, signal) => n + process.listenerCount(signal), 0);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
