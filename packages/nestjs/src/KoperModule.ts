import { Module, type DynamicModule } from "@nestjs/common";
import { ASYNC_OPTIONS_TYPE, OPTIONS_TYPE } from "./koper.module-definition.ts";
import { KoperCoreModule } from "./KoperCoreModule.ts";

/**
 * Koper in a Nest application: `KoperModule.forRoot(options)` or `KoperModule.forRootAsync({ imports,
 * inject, useFactory | useClass | useExisting, isGlobal })`, once, in the root module. Global by
 * default (so `@InjectKoper()` works everywhere); the work happens in the non-global `KoperCoreModule`
 * it imports and re-exports, whose place in Nest's shutdown order puts koper.stop() before the ORM closes.
 */
@Module({})
export class KoperModule {
  /** Configures Koper with options known up front. */
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return wrap(KoperCoreModule.forRoot(options), options.isGlobal);
  }

  /** Configures Koper from other providers, e.g. `inject: [getDataSourceToken()]`. */
  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return wrap(KoperCoreModule.forRootAsync(options), options.isGlobal);
  }
}

function wrap(core: DynamicModule, isGlobal: boolean | undefined): DynamicModule {
  return { module: KoperModule, global: isGlobal ?? true, imports: [core], exports: [core] };
}
