import { KafkaTransportError } from "../errors.ts";

/** The Node versions @platformatic/kafka supports (its `engines`): >= 22.22 on 22, >= 24.6 on 24 and later. */
export const SUPPORTED_NODE = ">= 22.22 or >= 24.6";

/** Whether `version` ("v24.6.0") is one @platformatic/kafka supports. */
export function isSupportedNode(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  if (major === 22) return minor >= 22;
  if (major === 24) return minor >= 6;
  return major > 24 || major === 23;
}

/** Throws a `KafkaTransportError` (code "invalid_config") on a Node @platformatic/kafka does not support. */
export function assertSupportedNode(version: string = process.version): void {
  if (!isSupportedNode(version)) throw KafkaTransportError.unsupportedNode(version, SUPPORTED_NODE);
}
