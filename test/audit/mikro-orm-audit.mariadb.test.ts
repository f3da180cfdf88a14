import { runMikroOrmAuditTrial } from "./mikro-orm-audit-trial.ts";

await runMikroOrmAuditTrial("mariadb");
