import { ConfigurableModuleBuilder } from "@nestjs/common";
import type { KoperModuleOptions } from "./options.ts";

/**
 * The options plumbing of `KoperCoreModule` (forRoot / forRootAsync with useFactory, useClass,
 * useExisting). `isGlobal` is read by the `KoperModule` wrapper: the core module itself is never
 * global, so Nest runs its shutdown hook before those of the (global) ORM modules.
 */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<KoperModuleOptions>({ moduleName: "Koper" })
    .setClassMethodName("forRoot")
    .setExtras({ isGlobal: true }, (definition) => definition)
    .build();
