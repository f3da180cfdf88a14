// The @koper/nestjs behaviour suite, run on sql.js and on PostgreSQL.
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "../../packages/core/test/support.ts";
import type { DataSourceOptions } from "typeorm";
import { bootApp, newOrder, type TestApp } from "./harness.ts";

/** Registers the suite for one database. */
export function nestAppSuite(name: string, db: () => Promise<{ options: DataSourceOptions; skip: string | undefined }>) {
  describe(`@koper/nestjs app on ${name}`, () => {
    let current: TestApp | undefined;
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });
    const boot = async () => {
      const { options, skip } = await db();
      if (skip) return undefined;
      return (current = await bootApp({ db: options }));
    };

    it("calls the injected SMS service exactly once, after the order's transaction committed", async (t) => {
      const app = await boot();
      if (!app) return t.skip();
      const order = newOrder("A-1");
      const response = await request(app.app.getHttpServer()).post("/orders").set("x-user", "alice").send(order);
      expect(response.status).toBe(201);
      await app.koper.settle();
      expect(app.sms.sent.filter((sms) => sms.text !== "order SEED-1 received")).toEqual([{ to: "+8613800000000", text: "order A-1 received" }]);
      const event = app.seen.orders.find((e) => e.key?.id === order.id)!;
      expect(event.context).toMatchObject({ actor: "alice" });
    });

    it("50 concurrent users: each event and each handler's own write carry their user, request id and cause", async (t) => {
      const app = await boot();
      if (!app) return t.skip();
      const server = app.app.getHttpServer();
      const users = Array.from({ length: 50 }, (_, i) => i);
      const traceIds = users.map((i) => (i + 1).toString(16).padStart(32, "c"));
      const responses = await Promise.all(
        users.map((i) =>
          request(server)
            .post("/orders")
            .set("x-user", `user-${i}`)
            .set("x-request-id", `req-${i}`)
            .set("traceparent", `00-${traceIds[i]}-00000000000000aa-01`)
            .send(newOrder(`C-${i}`)),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(users.map(() => 201));
      await until(() => app.seen.audits.length >= 50, "50 audit events", 30_000);
      await app.koper.settle();
      const wrong: string[] = [];
      for (const i of users) {
        const order = app.seen.orders.find((e) => (e.data as { number: string }).number === `C-${i}`);
        if (!order) {
          wrong.push(`C-${i}: not handled`);
          continue;
        }
        if (order.context.actor !== `user-${i}` || order.context.requestId !== `req-${i}`) wrong.push(`C-${i}: ${JSON.stringify(order.context)}`);
        if (order.trace?.traceparent.split("-")[1] !== traceIds[i]) wrong.push(`C-${i}: trace ${order.trace?.traceparent}`);
        const audit = app.seen.audits.find((e) => (e.data as { orderId: string }).orderId === order.key!.id);
        const expected = { actor: `user-${i}`, requestId: `req-${i}`, causationId: order.id };
        if (!audit || Object.entries(expected).some(([k, v]) => audit.context[k] !== v)) wrong.push(`audit of C-${i}: ${JSON.stringify(audit?.context)}`);
      }
      expect(wrong).toEqual([]);
      expect(app.sms.sent.length).toBe(50 + 1); // and the one written at boot (SeedService)
    });

    it("a rolled-back transaction calls nothing; a duplicate reaches onInsertOrder_X as unique_violation", async (t) => {
      const app = await boot();
      if (!app) return t.skip();
      const server = app.app.getHttpServer();
      expect((await request(server).post("/orders/declined").send(newOrder("R-1"))).status).toBe(402);
      expect((await request(server).post("/orders").send(newOrder("D-1"))).body).toMatchObject({ ok: true });
      expect((await request(server).post("/orders").send(newOrder("D-1"))).body).toMatchObject({ ok: false });
      await app.koper.settle();
      const numbers = app.seen.orders.map((e) => (e.data as { number: string }).number);
      expect(numbers).not.toContain("R-1");
      expect(numbers.filter((n) => n === "D-1")).toHaveLength(1);
      expect(app.seen.failures.map((e) => [(e.data as { number: string }).number, e.error?.code])).toEqual([["D-1", "unique_violation"]]);
    });

    it("a throwing handler is retried, then dead-lettered, and the app stays healthy", async (t) => {
      const app = await boot();
      if (!app) return t.skip();
      const server = app.app.getHttpServer();
      const dead: string[] = [];
      app.koper.on("dead_lettered", (e) => void dead.push(e.payload.id!));
      await request(server).post("/orders").send(newOrder("X-1", { note: "explode" }));
      await app.koper.settle();
      expect(app.seen.attempts).toBe(3);
      expect(dead).toHaveLength(1);
      expect((await request(server).get("/health")).body).toEqual({ ok: true });
      await request(server).post("/orders").send(newOrder("X-2"));
      await app.koper.settle();
      expect(app.seen.orders.map((e) => (e.data as { number: string }).number)).toContain("X-2");
    });

    it("a @Listen provider receives what @InjectKoperSender() sends, in the sender's context", async (t) => {
      const app = await boot();
      if (!app) return t.skip();
      const response = await request(app.app.getHttpServer()).post("/signup").set("x-user", "dora").set("x-request-id", "req-s").send({ phone: "13800000000" });
      await app.koper.settle();
      expect(app.seen.messages.map((m) => [m.payload, m.meta.id])).toEqual([["Signed up successfully! 13800000000", response.body.id]]);
      expect(JSON.parse(app.seen.messages[0]!.meta.headers["koper-context"]!)).toMatchObject({ actor: "dora", requestId: "req-s" });
    });

    it("a write made in onModuleInit, before Koper started, is delivered once it starts", async (t) => {
      const app = await boot();
      if (!app) return t.skip();
      await app.koper.settle();
      expect(app.seen.orders.map((e) => (e.data as { number: string }).number)).toContain("SEED-1");
      expect(app.seen.timeline).toContain("OrderListener.onModuleInit"); // Nest still calls the listener's own hook
    });
  });
}
