export { koperTypeorm } from "./koperTypeorm.ts";
export type { KoperTypeormHandle } from "./koperTypeorm.ts";
export type { KoperTypeormOptions, TypeormEntityRef } from "./options.ts";
export type { KoperSubscriber } from "./KoperSubscriber.ts";
export { TypeormAdapterError, SUPPORTED_TYPEORM } from "./errors.ts";
export { sqlClientOf, dialectOf } from "./sql-client.ts";
