import { Koper, type KoperOptions } from "@koper/core";
import { KoperNestError } from "./errors.ts";
import type { KoperModuleOptions } from "./options.ts";

/** The module's Koper: the one given, or a new one from the options (with the module's `context` supplier). */
export function createKoper(options: KoperModuleOptions): Koper {
  const given = options.koper;
  if (isKoper(given)) {
    if (options.context) throw KoperNestError.invalidOption("context", "give it to `new Koper({ context })` when you pass a Koper");
    return given;
  }
  if (given !== undefined && (typeof given !== "object" || given === null)) {
    throw KoperNestError.invalidOption("koper", "expected Koper's options or a Koper");
  }
  const koperOptions: KoperOptions = { ...given };
  if (options.context) koperOptions.context = options.context;
  if (options.stopDeadlineMs !== undefined) koperOptions.stopDeadlineMs = options.stopDeadlineMs;
  return new Koper(koperOptions);
}

// Not instanceof: the application may have loaded another copy of @koper/core.
function isKoper(value: unknown): value is Koper {
  const candidate = value as Partial<Koper> | undefined;
  return typeof candidate?.register === "function" && typeof candidate.start === "function" && typeof candidate.capture === "object";
}
