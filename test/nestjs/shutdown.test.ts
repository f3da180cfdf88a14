// Shutdown of a Nest app with Koper: HTTP closes (in-flight requests finish), then koper.stop()
// drains, and only then does the ORM's connection close, whatever the order of the imports.
import type { Server } from "node:http";
import type { LoggerService } from "@nestjs/common";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { deferred, until } from "../../packages/core/test/support.ts";
import { bootApp, dbOptions, newOrder, type TestApp } from "./harness.ts";

/** Records koper.stop, the HTTP server's close and dataSource.destroy on the app's timeline. */
function watch(app: TestApp, onHttpClose: () => void): string[] {
  const timeline = app.seen.timeline;
  const stop = app.koper.stop.bind(app.koper);
  app.koper.stop = async (options) => {
    timeline.push("koper.stop begins");
    try {
      await stop(options);
    } finally {
      timeline.push("koper.stop done");
    }
  };
  const destroy = app.dataSource.destroy.bind(app.dataSource);
  app.dataSource.destroy = async () => {
    timeline.push("dataSource.destroy");
    return destroy();
  };
  const server = app.app.getHttpServer() as Server;
  const close = server.close.bind(server);
  server.close = (callback) => {
    timeline.push("http closing");
    onHttpClose();
    return close(callback);
  };
  return timeline;
}

describe.each([
  ["KoperModule imported before TypeOrmModule", true],
  ["KoperModule imported after TypeOrmModule", false],
])("@koper/nestjs shutdown, %s", (_title, koperFirst) => {
  it("finishes a slow handler and an in-flight request before the ORM closes", async () => {
    const { options } = await dbOptions("sqlite");
    const app = await bootApp({ db: options, koperFirst });
    await app.app.listen(0);
    const gate = deferred();
    app.seen.slowGate = gate.promise;
    const timeline = watch(app, () => gate.resolve());
    const server = app.app.getHttpServer();

    expect((await request(server).post("/orders").send(newOrder("S-1", { note: "slow" }))).status).toBe(201);
    const inFlight = request(server).post("/orders").send(newOrder("S-2", { holdUntil: "released" })).then((r) => r.status);
    await until(() => timeline.includes("in-flight request entered"), "the request to reach the controller");
    await app.close();

    expect(await inFlight).toBe(201);
    const at = (step: string) => {
      expect(timeline).toContain(step);
      return timeline.indexOf(step);
    };
    expect(at("http closing")).toBeLessThan(at("in-flight request committed"));
    expect(at("in-flight request committed")).toBeLessThan(at("koper.stop begins"));
    expect(at("slow handler wrote")).toBeLessThan(at("koper.stop done"));
    expect(at("koper.stop done")).toBeLessThan(at("dataSource.destroy"));
    const numbers = app.seen.orders.map((e) => (e.data as { number: string }).number);
    expect(numbers).toEqual(expect.arrayContaining(["S-1", "S-2"]));
    expect(app.seen.audits.map((e) => (e.data as { what: string }).what)).toEqual(expect.arrayContaining(["sms for S-1", "sms for S-2"]));
  });
});

describe("@koper/nestjs shutdown past the deadline", () => {
  it("logs the StopError with what was unfinished, never throws it, and the ORM still closes", async () => {
    const { options } = await dbOptions("sqlite");
    const errors: string[] = [];
    const logger: LoggerService = { log() {}, warn() {}, error: (message: string) => void errors.push(message) };
    const app = await bootApp({ db: options, koper: { logger, stopDeadlineMs: 300 } });
    const stuck: string[] = [];
    app.koper.on("published", (e) => stuck.push(...e.payload.ids));
    await request(app.app.getHttpServer()).post("/orders").send(newOrder("T-1", { note: "stuck" }));
    await until(() => stuck.length >= 2, "the stuck order's event to be published"); // SEED-1 and T-1
    await app.close();
    expect(errors.join("\n")).toMatch(/koper\.stop\(\) did not finish cleanly: koper\.stop\(\) gave up after 300 ms/);
    expect(errors.join("\n")).toContain(stuck[stuck.length - 1]);
    expect(app.dataSource.isInitialized).toBe(false);
  });
});

describe("@koper/nestjs shutdown hooks warning", () => {
  it("warns at boot when app.enableShutdownHooks() was not called, and not when it was", async () => {
    const { options } = await dbOptions("sqlite");
    for (const hooks of [false, true]) {
      const warnings: string[] = [];
      const logger: LoggerService = { log() {}, error() {}, warn: (message: string) => void warnings.push(message) };
      const { appModule } = await import("./app.ts");
      const { Test } = await import("@nestjs/testing");
      const { module } = appModule({ db: options, koper: { logger, warnWithoutShutdownHooks: true } });
      const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      if (hooks) app.enableShutdownHooks(["SIGTERM"]);
      await app.init();
      await app.close();
      expect(warnings.some((w) => w.includes("enableShutdownHooks"))).toBe(!hooks);
    }
  });
});
