// @koper/kafka/platformatic: Koper's Kafka transport on @platformatic/kafka (an optional peer
// dependency, Node >= 22.22 or >= 24.6). Users of KafkaTransport (kafkajs) never load this entry.
import { assertSupportedNode } from "./platformatic/node.ts";

// Loaded on a Node @platformatic/kafka does not support: a typed error now, not an obscure one later.
assertSupportedNode();

export { PlatformaticKafkaTransport } from "./platformatic/PlatformaticKafkaTransport.ts";
export type { PlatformaticClientOptions, PlatformaticConsumerOptions, PlatformaticKafkaTransportOptions } from "./platformatic/options.ts";
export { isSupportedNode, SUPPORTED_NODE } from "./platformatic/node.ts";
export { KafkaTransportError } from "./errors.ts";
