import { requestContextOfFailures } from "./failure-request-context.ts";

// Issue #7.7 (request context of failure events) on TypeORM 1.x; typeorm03-failure-request-context.test.ts runs it on 0.3.
await requestContextOfFailures("1.x");
