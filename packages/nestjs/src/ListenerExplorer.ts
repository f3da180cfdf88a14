import { isListener } from "@koper/core";
import { Inject, Injectable, Logger, type LoggerService } from "@nestjs/common";
import { DiscoveryService } from "@nestjs/core";
import { KoperNestError } from "./errors.ts";

/**
 * Finds Koper listeners among the application's providers (never controllers): classes decorated
 * with `@Listen` / `@DataListener`, and `listen(...)` / `dataListener(...)` objects given as values
 * or factories. Each listener class is returned once, however many modules provide it.
 */
@Injectable()
export class ListenerExplorer {
  constructor(@Inject(DiscoveryService) private readonly discovery: DiscoveryService) {}

  /** The listener instances to register; throws `KoperNestError` naming a listener that is not a singleton. */
  listeners(logger: LoggerService | undefined = new Logger("Koper")): object[] {
    const seen = new Set<unknown>();
    const found: object[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const listener = listenerOf(wrapper);
      if (!listener) continue;
      const key = listener.constructor === Object ? listener : listener.constructor;
      if (seen.has(key)) {
        logger?.warn?.(`${nameOf(wrapper)} is provided by more than one module; Koper registers it once.`);
        continue;
      }
      seen.add(key);
      found.push(listener);
    }
    return found;
  }
}

type InstanceWrapper = ReturnType<DiscoveryService["getProviders"]>[number];

function listenerOf(wrapper: InstanceWrapper): object | undefined {
  const { metatype } = wrapper;
  const declared = typeof metatype === "function" && isListener(metatype);
  if (!declared && !isListenerValue(wrapper.instance)) return undefined;
  if (wrapper.isTransient) throw KoperNestError.notSingleton(nameOf(wrapper), "its provider is transient");
  if (!wrapper.isDependencyTreeStatic()) {
    throw KoperNestError.notSingleton(nameOf(wrapper), "it is request-scoped (itself, or through a dependency)");
  }
  const instance: unknown = wrapper.instance;
  return typeof instance === "object" && instance !== null ? instance : undefined;
}

// A provider's value may throw on any property access: nestjs-cls's proxy providers (CLS_REQ,
// CLS_RES, @InjectableProxy classes) do outside a CLS context. Such a value is no listener object.
function isListenerValue(value: unknown): boolean {
  try {
    return isListener(value);
  } catch {
    return false;
  }
}

function nameOf(wrapper: InstanceWrapper): string {
  const { metatype, name } = wrapper;
  if (typeof metatype === "function" && metatype.name && isListener(metatype)) return metatype.name;
  return typeof name === "string" ? name : String(name);
}
