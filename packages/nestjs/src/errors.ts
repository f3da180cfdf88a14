import { KoperError } from "@koper/core";

/** A listener or module setup that Koper's NestJS integration refuses at boot. */
export class KoperNestError extends KoperError {
  /** A listener whose provider (or a dependency of it) is request-scoped or transient. */
  static notSingleton(listener: string, why: string): KoperNestError {
    return new KoperNestError(
      "invalid_listener",
      `${listener} is a Koper listener but ${why}. Listeners are called outside any HTTP request, once per event: ` +
        "make the provider and its dependencies singletons (the default scope), and read request data from the event " +
        "(event.context) instead.",
      { details: { listener } },
    );
  }

  /** `forRoot` got something that is neither Koper's options nor a Koper. */
  static invalidOption(option: string, reason: string): KoperNestError {
    return new KoperNestError("invalid_config", `Invalid KoperModule option "${option}": ${reason}.`, { details: { option } });
  }
}
