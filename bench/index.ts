// `npm run bench`: every benchmark of the project, in one run, printed as figures and ratios.
import { runAuditBench } from "./audit.ts";
import { runCoreBench } from "./core.ts";
import { runKafkaBench } from "./kafka.ts";
import { runKafkaBrokerBench } from "./kafka-broker.ts";
import { runMikroOrmBench } from "./mikro-orm.ts";
import { runOutboxBench, runOutboxRelayBench } from "./outbox.ts";
import { runPrismaBench } from "./prisma.ts";
import { runTypeormBench } from "./typeorm.ts";

const only = process.argv[2];
const suites: [string, () => Promise<void>][] = [
  ["core", runCoreBench],
  ["typeorm", runTypeormBench],
  ["prisma", runPrismaBench],
  ["mikro-orm", runMikroOrmBench],
  ["outbox", runOutboxBench],
  // `npm run bench -- outbox-relay` runs the relay figures alone; `-- outbox` ends with them.
  ["outbox-relay", runOutboxRelayBench],
  ["kafka", runKafkaBench],
  // `npm run bench -- kafka-broker` runs this one alone; `-- kafka` runs it after the client figures.
  ["kafka-broker", runKafkaBrokerBench],
  ["audit", runAuditBench],
];

console.log(`Koper benchmarks — Node ${process.version}, ${new Date().toISOString()}`);
for (const [name, run] of suites) {
  if (only ? only !== name && !(only === "kafka" && name === "kafka-broker") : name === "outbox-relay") continue;
  await run();
}
