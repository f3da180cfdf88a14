import { requestContextOfFailures } from "./failure-request-context.ts";

// Issue #7.7: on TypeORM 0.3.28 failure events carried another request's requestId.
await requestContextOfFailures("0.3");
