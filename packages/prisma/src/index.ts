export { koperPrisma } from "./koperPrisma.ts";
export type { KoperPrismaOptions } from "./options.ts";
export type { KoperPrismaExtension } from "./koperPrisma.ts";
export { PrismaAdapterError } from "./errors.ts";
export type { Criteria } from "./drafts.ts";
