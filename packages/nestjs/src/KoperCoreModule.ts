import { Koper } from "@koper/core";
import { Inject, Module, type MiddlewareConsumer, type NestModule } from "@nestjs/common";
import { DiscoveryModule } from "@nestjs/core";
import { createKoper } from "./create-koper.ts";
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from "./koper.module-definition.ts";
import { KoperActorInterceptor } from "./KoperActorInterceptor.ts";
import { KoperContextMiddleware } from "./KoperContextMiddleware.ts";
import { KOPER_ATTACHMENTS, KoperLifecycle } from "./KoperLifecycle.ts";
import { ListenerExplorer } from "./ListenerExplorer.ts";
import type { KoperModuleOptions } from "./options.ts";
import { KOPER_SENDER } from "./tokens.ts";

/**
 * Owns the Koper instance, its sender, listener discovery, the request-context middleware and the
 * lifecycle. Never global (see `KoperModule`): Nest closes global modules last, so this module's
 * shutdown hook (koper.stop) runs before the ORM modules close their connections, whatever the order of imports.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: Koper, useFactory: createKoper, inject: [MODULE_OPTIONS_TOKEN] },
    { provide: KOPER_SENDER, useFactory: (koper: Koper) => koper.sender, inject: [Koper] },
    {
      provide: KOPER_ATTACHMENTS,
      useFactory: (koper: Koper, options: KoperModuleOptions) => (options.attach ?? []).map((attach) => attach(koper) ?? { detach() {} }),
      inject: [Koper, MODULE_OPTIONS_TOKEN],
    },
    ListenerExplorer,
    KoperLifecycle,
    KoperContextMiddleware,
    KoperActorInterceptor,
  ],
  exports: [Koper, KOPER_SENDER, MODULE_OPTIONS_TOKEN, KoperActorInterceptor],
})
export class KoperCoreModule extends ConfigurableModuleClass implements NestModule {
  constructor(@Inject(MODULE_OPTIONS_TOKEN) private readonly options: KoperModuleOptions) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    const http = this.options.http;
    if (http === false) return;
    const mounted = consumer.apply(KoperContextMiddleware);
    if (http?.exclude?.length) mounted.exclude(...http.exclude);
    mounted.forRoutes(http?.path ?? "{*all}");
  }
}
