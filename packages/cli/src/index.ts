export { run } from "./run.ts";
export type { RunEnv } from "./run.ts";
export { connect } from "./connect.ts";
export type { Connection } from "./connect.ts";
export { renderHistory, renderChanges } from "./render.ts";
export { parseTime } from "./time.ts";
export { CliError } from "./errors.ts";
export type { CliErrorCode } from "./errors.ts";
