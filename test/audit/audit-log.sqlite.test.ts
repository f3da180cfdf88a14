import { runAuditLogSuite } from "./audit-log-suite.ts";

await runAuditLogSuite("sqlite");
