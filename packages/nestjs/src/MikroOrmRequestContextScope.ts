import { MikroORM, RequestContext } from "@mikro-orm/core";
import { Inject, Injectable } from "@nestjs/common";
import type { KoperHandlerCall, KoperHandlerScope } from "./handler-scopes.ts";

/**
 * Runs every handler call in a MikroORM `RequestContext` of its own (a fresh fork of `orm.em`), so
 * a listener's injected `EntityManager` works without `allowGlobalContext` and no identity map is
 * shared between events. `handlerScopes: [MikroOrmRequestContextScope]`; it injects the `MikroORM`
 * provider (@mikro-orm/nestjs's, or one the application provides under the `MikroORM` class).
 */
@Injectable()
export class MikroOrmRequestContextScope implements KoperHandlerScope {
  constructor(@Inject(MikroORM) private readonly orm: MikroORM) {}

  /** Calls `next` inside a new request context forked from the ORM's global EntityManager. */
  run(_call: KoperHandlerCall, next: () => Promise<unknown>): Promise<unknown> {
    return RequestContext.create(this.orm.em, next);
  }
}
