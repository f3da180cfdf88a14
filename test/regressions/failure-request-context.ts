import { describe, expect, it } from "vitest";
import type { TypeormLine } from "../typeorm/orm.ts";
import { blogDatabases, of, useBlog, uuid } from "./blog/setup.ts";

// Issue #7.7: on TypeORM 0.3.28, failure events carried another request's `requestId`: a failed
// statement's afterQuery runs in the async context of the pooled connection's callback (whoever
// opened it), not of the request whose write failed. Failure events now keep the writer's context.
/** Registers the test on every database, on one TypeORM line (one per test file: the two share a global registry). */
export async function requestContextOfFailures(line: TypeormLine): Promise<void> {
  for (const db of await blogDatabases(line)) {
    describe.skipIf(db.skip !== undefined)(`request context of failure events: TypeORM ${line} on ${db.name}`, () => {
      const world = useBlog(db);

      it("40 concurrent requests whose writes fail: each failure event has its own request's actor and id", async () => {
        const w = await world();
        const users = w.dataSource.getRepository(w.blog.User);
        await users.save(users.create({ id: uuid(), username: "taken", email: "taken@example.com", passwordHash: "h" }));
        const request = (i: number) =>
          w.koper.runWith({ actor: `user-${i}`, requestId: `req-${i}` }, async () => {
            await users.save(users.create({ id: uuid(), username: `ok-${i}`, email: `ok-${i}@example.com`, passwordHash: "h" }));
            await users.save(users.create({ id: uuid(), username: "taken", email: `dup-${i}@example.com`, passwordHash: "h" })).catch(() => {});
          });
        const requests = Array.from({ length: 40 }, (_, i) => i);
        // sql.js has one connection, on which TypeORM nests concurrent transactions in one another:
        // its requests run one after the other (see the adapter README's known limits).
        if (db.name === "sqlite") for (const i of requests) await request(i);
        else await Promise.all(requests.map(request));
        const events = await w.settle();
        const failed = of(events, "User").filter((e) => e.outcome === "failed");
        const committed = of(events, "User").filter((e) => e.outcome === "committed").slice(1);
        expect(failed).toHaveLength(40);
        expect(committed).toHaveLength(40);
        const wrong = [...failed, ...committed].filter((e) => {
          const i = String(e.data?.email).match(/-(\d+)@/)?.[1];
          return e.context.requestId !== `req-${i}` || e.context.actor !== `user-${i}`;
        });
        expect(wrong.map((e) => [e.data?.email, e.context.requestId])).toEqual([]);
      });
    });
  }
}
