export { KafkaTransport } from "./KafkaTransport.ts";
export type { KafkaTransportOptions } from "./options.ts";
export type { Compression } from "./compression.ts";
export { KafkaTransportError } from "./errors.ts";
