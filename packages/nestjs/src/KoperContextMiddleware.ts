import { randomUUID } from "node:crypto";
import { Koper, type KoperContext } from "@koper/core";
import { Inject, Injectable, type NestMiddleware } from "@nestjs/common";
import { MODULE_OPTIONS_TOKEN } from "./koper.module-definition.ts";
import type { KoperHttpOptions, KoperHttpRequest, KoperModuleOptions } from "./options.ts";

/**
 * Runs the rest of each HTTP request inside `koper.runWith({ requestId, traceparent, … })`, so every
 * write the request makes is stamped with them. Mounted on every route by `KoperModule` (option `http`).
 */
@Injectable()
export class KoperContextMiddleware implements NestMiddleware {
  readonly #http: KoperHttpOptions;

  constructor(
    @Inject(Koper) private readonly koper: Koper,
    @Inject(MODULE_OPTIONS_TOKEN) options: KoperModuleOptions,
  ) {
    this.#http = options.http || {};
  }

  use(request: KoperHttpRequest, _response: unknown, next: (error?: unknown) => void): void {
    this.koper.runWith(requestContext(request, this.#http), () => next());
  }
}

/** The context of one request: its extra fields, its request id and its trace parent. */
export function requestContext(request: KoperHttpRequest, http: KoperHttpOptions): KoperContext {
  const context: KoperContext = { ...http.context?.(request) };
  context.requestId = http.requestId?.(request) ?? header(request, "x-request-id") ?? randomUUID();
  const traceparent = header(request, "traceparent");
  if (traceparent !== undefined) context.traceparent = traceparent;
  return context;
}

function header(request: KoperHttpRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
