// `npm run bench`: every benchmark of the project, in one run, printed as figures and ratios.
import { runCoreBench } from "./core.ts";
import { runKafkaBench } from "./kafka.ts";
import { runMikroOrmBench } from "./mikro-orm.ts";
import { runPrismaBench } from "./prisma.ts";
import { runTypeormBench } from "./typeorm.ts";

const only = process.argv[2];
const suites: [string, () => Promise<void>][] = [
  ["core", runCoreBench],
  ["typeorm", runTypeormBench],
  ["prisma", runPrismaBench],
  ["mikro-orm", runMikroOrmBench],
  ["kafka", runKafkaBench],
];

console.log(`Koper benchmarks — Node ${process.version}, ${new Date().toISOString()}`);
for (const [name, run] of suites) {
  if (only && only !== name) continue;
  await run();
}
