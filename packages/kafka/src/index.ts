export { KafkaTransport } from "./KafkaTransport.ts";
export type { KafkaTransportOptions } from "./options.ts";
export { KafkaTransportError } from "./errors.ts";
