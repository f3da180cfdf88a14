import { runTypeormAuditTrial } from "./typeorm-audit-trial.ts";

await runTypeormAuditTrial("mariadb");
