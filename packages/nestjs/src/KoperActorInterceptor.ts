import { Koper } from "@koper/core";
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from "@nestjs/common";
import { Observable } from "rxjs";
import { MODULE_OPTIONS_TOKEN } from "./koper.module-definition.ts";
import type { KoperHttpRequest, KoperModuleOptions } from "./options.ts";

/**
 * Adds the actor to the request's Koper context. Interceptors run after guards, so the user an auth
 * guard put on the request is known here (middleware runs too early for that). Opt in with
 * `{ provide: APP_INTERCEPTOR, useClass: KoperActorInterceptor }`; the actor comes from `http.actor`,
 * default `request.user.id`. Only HTTP calls are touched.
 */
@Injectable()
export class KoperActorInterceptor implements NestInterceptor {
  constructor(
    @Inject(Koper) private readonly koper: Koper,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KoperModuleOptions,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== "http") return next.handle();
    const request = context.switchToHttp().getRequest<KoperHttpRequest>();
    const actor = (this.options.http && this.options.http.actor ? this.options.http.actor : defaultActor)(request);
    if (actor === undefined) return next.handle();
    // The handler runs when the observable is subscribed: subscribe inside the actor's scope.
    return new Observable((subscriber) => this.koper.runWith({ actor }, () => next.handle().subscribe(subscriber)));
  }
}

function defaultActor(request: KoperHttpRequest): string | undefined {
  const user = request.user as { id?: unknown } | undefined;
  return user?.id === undefined || user.id === null ? undefined : String(user.id);
}
