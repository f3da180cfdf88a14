// Two instances of the Nest app on the embedded Kafka broker: their listeners form one consumer group
// and share the events (each event handled, by one instance or the other), and both shut down cleanly.
// Shutdown over Kafka drains: koper.stop() waits until this process's consumers handled what it
// published (a slow handler's own write included), and only then does the ORM close.
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { brokerPerTest, transportFor, uniqueName, until } from "../kafka/support.ts";
import { bootApp, dbOptions, newOrder, type TestApp } from "./harness.ts";

describe("@koper/nestjs on Kafka", () => {
  const env = brokerPerTest();
  const apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it("two app instances share one consumer group", { timeout: 120_000 }, async () => {
    const { options } = await dbOptions("sqlite");
    const prefix = uniqueName("nest");
    for (let i = 0; i < 2; i++) {
      const transport = transportFor(env.broker.brokers, { partitions: 4 });
      apps.push(await bootApp({ db: options, koper: { koper: { transport, topics: { prefix }, retry: { retries: 1, initialDelayMs: 5 } } } }));
    }
    const [first, second] = apps as [TestApp, TestApp];
    const handled = (app: TestApp) => app.seen.orders.map((e) => (e.data as { number: string }).number).filter((n) => n !== "SEED-1");
    const written: string[] = [];
    // Writes go on until the group has rebalanced and both members got some of them.
    await until(
      async () => {
        for (let i = 0; i < 10; i++) {
          const number = `K-${written.length}`;
          written.push(number);
          expect((await request(first.app.getHttpServer()).post("/orders").set("x-user", "kim").send(newOrder(number))).status).toBe(201);
        }
        return handled(first).length > 0 && handled(second).length > 0;
      },
      "both instances to handle orders",
      90_000,
    );
    await until(() => new Set([...handled(first), ...handled(second)]).size === written.length, "every order handled", 60_000);
    expect([...new Set([...handled(first), ...handled(second)])].sort()).toEqual([...written].sort());
    expect(second.seen.orders.every((e) => e.context.actor === "kim")).toBe(true);
  });

  it("app.close() lets a slow handler of an event still on the broker finish before the ORM closes", { timeout: 60_000 }, async () => {
    const { options } = await dbOptions("sqlite");
    const transport = transportFor(env.broker.brokers, { partitions: 2 });
    const app = await bootApp({ db: options, koper: { koper: { transport, topics: { prefix: uniqueName("nest-stop") } } } });
    apps.push(app);
    const timeline = app.seen.timeline;
    const stop = app.koper.stop.bind(app.koper);
    app.koper.stop = async (stopOptions) => {
      timeline.push("koper.stop begins");
      await stop(stopOptions);
      timeline.push("koper.stop done");
    };
    const destroy = app.dataSource.destroy.bind(app.dataSource);
    app.dataSource.destroy = async () => {
      timeline.push("dataSource.destroy");
      return destroy();
    };
    app.seen.slowGate = new Promise((resolve) => setTimeout(resolve, 300)); // the handler takes a while
    expect((await request(app.app.getHttpServer()).post("/orders").set("x-user", "kim").send(newOrder("K-SLOW", { note: "slow" }))).status).toBe(201);
    await app.close(); // the event is on the broker, maybe not yet fetched
    const at = (step: string) => {
      expect(timeline).toContain(step);
      return timeline.indexOf(step);
    };
    expect(at("koper.stop begins")).toBeLessThan(at("slow handler wrote"));
    expect(at("slow handler wrote")).toBeLessThan(at("koper.stop done"));
    expect(at("koper.stop done")).toBeLessThan(at("dataSource.destroy"));
    expect(app.seen.orders.map((e) => (e.data as { number: string }).number)).toContain("K-SLOW");
  });
});
