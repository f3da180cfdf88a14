export { koperMikroOrm, koperMikroOrmSubscriber, detachSubscriber } from "./koperMikroOrm.ts";
export type { KoperMikroOrmHandle } from "./koperMikroOrm.ts";
export { KoperMikroOrmSubscriber } from "./KoperMikroOrmSubscriber.ts";
export type { KoperMikroOrmOptions, MikroOrmEntityRef } from "./options.ts";
export type { Criteria } from "./drafts.ts";
export { MikroOrmAdapterError } from "./errors.ts";
export { sqlClientOf, dialectOf } from "./sql-client.ts";
