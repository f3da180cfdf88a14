// @koper/kafka/platformatic's Node floor (@platformatic/kafka's engines: >= 22.22 or >= 24.6): a
// typed error on an older Node, before anything of the client runs.
import { isKoperError } from "@koper/core";
import { describe, expect, it } from "vitest";
import { KafkaTransportError } from "../src/errors.ts";
import { assertSupportedNode, isSupportedNode } from "../src/platformatic/node.ts";

describe("PlatformaticKafkaTransport's Node floor", () => {
  it.each(["v22.22.0", "v22.30.1", "v23.0.0", "v24.6.0", "v24.21.0", "v25.1.0"])("accepts %s", (version) => {
    expect(isSupportedNode(version)).toBe(true);
    expect(() => assertSupportedNode(version)).not.toThrow();
  });

  it.each(["v20.19.0", "v22.21.9", "v24.5.0", "v21.7.3"])("refuses %s with a KafkaTransportError naming the floor", (version) => {
    expect(isSupportedNode(version)).toBe(false);
    let error: unknown;
    try {
      assertSupportedNode(version);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KafkaTransportError);
    expect(isKoperError(error)).toBe(true);
    expect(error).toMatchObject({ code: "invalid_config", details: { version } });
    expect(String((error as Error).message)).toContain(">= 22.22 or >= 24.6");
    expect(String((error as Error).message)).toContain("KafkaTransport");
  });
});
