// Regression (issue 7, item 9), over Kafka: a handler must run in its event's context, which the
// consumer rebuilds from the message (not from whatever scope the consumer loop was started in).
import { describe, it } from "vitest";
import { brokerPerTest, koperFor, uniqueName, until } from "../kafka/support.ts";
import { contextListeners, expectOwnContexts, writeAsActors } from "./handler-context.ts";

describe("regression: each handler runs in its own event's context (Kafka)", () => {
  const env = brokerPerTest();

  it("with 50 concurrent actors, for data events, a handler's own writes and plain messages", { timeout: 90_000 }, async () => {
    const actors = 50;
    const topic = uniqueName("signup");
    const koper = koperFor(env.broker.brokers, { topics: { prefix: uniqueName("p") }, concurrency: 4, kafka: { partitions: 3 } });
    env.kopers.push(koper);
    const seen = contextListeners(koper, topic);
    await koper.start();
    await writeAsActors(koper, topic, actors);
    await until(
      () => seen.orders.size === actors && seen.audits.size === actors && seen.messages.size === actors,
      () => `every handler (orders ${seen.orders.size}, audits ${seen.audits.size}, messages ${seen.messages.size})`,
      60_000,
    );
    expectOwnContexts(seen, actors);
  });
});
