import { Koper, type MessageSender } from "@koper/core";
import { Inject } from "@nestjs/common";

/** Injection token of the module's `MessageSender` (`koper.sender`); override it in tests. */
export const KOPER_SENDER = Symbol.for("koper.nestjs.sender");

/** Injects the module's `Koper` (its class is the token). */
export function InjectKoper(): PropertyDecorator & ParameterDecorator {
  return Inject(Koper);
}

/** Injects the module's `MessageSender`: `constructor(@InjectKoperSender() sender: MessageSender)`. */
export function InjectKoperSender(): PropertyDecorator & ParameterDecorator {
  return Inject(KOPER_SENDER);
}

/** The type `@InjectKoperSender()` gives. */
export type KoperSender = MessageSender;
