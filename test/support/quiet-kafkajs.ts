// kafkajs 2.2.4 calls setTimeout(-1 - Date.now()) when its request queue is idle, and Node 24 warns
// about the negative delay once per process. The noise is kafkajs's: drop only that warning.
// Loaded by vitest (setupFiles) and by the Kafka bench.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type !== "TimeoutNegativeWarning") emitWarning(warning, ...rest);
}) as typeof process.emitWarning;
