// Side by side, in one process: the built core of an old commit and of this tree, interleaved, CPU µs/event.
// Usage: git worktree add /tmp/old <commit> && (cd /tmp/old/packages/core && npx tsc -p tsconfig.build.json)
//        npm run build -w @koper/core && npx node bench/compare-core.mjs /tmp/old/packages/core/dist/index.js packages/core/dist/esm/index.js [rounds] [events]
// (The old worktree needs node_modules: symlink this one's.) Modes: e2e with 1 and 100 events per
// transaction, the consuming side alone, and publish-only (no listener) with 100 and 1 events per transaction.
const [oldPath, newPath, rounds = "5", N = "100000"] = process.argv.slice(2);
const { pathToFileURL } = await import("node:url");
const load = (p) => import(pathToFileURL(p).href);
const libs = { old: await load(oldPath), new: await load(newPath) };
const events = Number(N);
const draft = (id) => ({ entity: "Order", action: "update", key: { id }, data: { id, number: `A-${id}`, qty: id % 7, price: "19.90", updatedAt: new Date() }, changes: ["qty"], source: { orm: "bench", table: "orders" } });
async function e2e(lib, batch) {
  let handled = 0, done; const fin = new Promise((r) => (done = r));
  const koper = new lib.Koper({ concurrency: 64 }).register(lib.dataListener()({ entity: "Order", onUpdateOrder: () => { if (++handled === events) done(); } }));
  await koper.start();
  const c0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < events; i += batch) { const tx = {}; koper.capture.begin(tx); for (let j = i; j < Math.min(events, i + batch); j++) await koper.capture.record(tx, draft(j % 1000)); await koper.capture.commit(tx); }
  await fin;
  const c = process.cpuUsage(c0), wall = performance.now() - t0;
  await koper.stop();
  return { cpu: (c.user + c.system) / events, rate: events / (wall / 1000) };
}
async function publishOnly(lib, batch) {
  const koper = new lib.Koper({ concurrency: 64 });
  await koper.start();
  const c0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < events; i += batch) { const tx = {}; koper.capture.begin(tx); for (let j = i; j < Math.min(events, i + batch); j++) await koper.capture.record(tx, draft(j % 1000)); await koper.capture.commit(tx); }
  await koper.stop(); // sends what is still queued
  const c = process.cpuUsage(c0), wall = performance.now() - t0;
  return { cpu: (c.user + c.system) / events, rate: events / (wall / 1000) };
}
async function consume(lib) {
  const transport = new lib.InProcessTransport({ retention: events, capacity: events });
  const producer = new lib.Koper({ transport }); await producer.start();
  for (let i = 0; i < events; i += 100) { const tx = {}; producer.capture.begin(tx); for (let j = i; j < Math.min(events, i + 100); j++) await producer.capture.record(tx, draft(j % 1000)); await producer.capture.commit(tx); }
  let handled = 0, done; const fin = new Promise((r) => (done = r));
  const consumer = new lib.Koper({ transport, concurrency: 64 }).register(lib.dataListener()({ entity: "Order", onUpdateOrder: () => { if (++handled === events) done(); } }));
  const c0 = process.cpuUsage(), t0 = performance.now();
  await consumer.start(); await fin;
  const c = process.cpuUsage(c0), wall = performance.now() - t0;
  await consumer.stop(); await producer.stop();
  return { cpu: (c.user + c.system) / events, rate: events / (wall / 1000) };
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const name of ["old", "new"]) await e2e(libs[name], 100); // warm-up
const res = {};
for (let r = 0; r < Number(rounds); r++) {
  const order = r % 2 ? ["new", "old"] : ["old", "new"];
  for (const name of order) for (const [k, f] of [["e2e-1", () => e2e(libs[name], 1)], ["e2e-100", () => e2e(libs[name], 100)], ["consume", () => consume(libs[name])], ["publish", () => publishOnly(libs[name], 100)], ["publish-1", () => publishOnly(libs[name], 1)]]) {
    const x = await f(); ((res[k] ??= {})[name] ??= []).push(x);
  }
}
for (const [k, v] of Object.entries(res)) {
  const o = { cpu: med(v.old.map((x) => x.cpu)), rate: med(v.old.map((x) => x.rate)) }, n = { cpu: med(v.new.map((x) => x.cpu)), rate: med(v.new.map((x) => x.rate)) };
  console.log(`${k.padEnd(8)} old ${o.cpu.toFixed(2)} µs CPU/ev ${Math.round(o.rate)} ev/s | new ${n.cpu.toFixed(2)} µs CPU/ev ${Math.round(n.rate)} ev/s | CPU ×${(o.cpu / n.cpu).toFixed(2)} rate ×${(n.rate / o.rate).toFixed(2)}`);
}
