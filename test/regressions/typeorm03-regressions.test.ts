import { expect, it } from "vitest";
import { blogDatabases, regressionsOn } from "./blog/setup.ts";

// The blog regressions of issue #7 again, on TypeORM 0.3.x (devDependency typeorm-0.3). They are
// loaded here, in this file's own process (0.3 and 1.x must not share one: one global entity
// registry), after choosing the line; typeorm03-failure-request-context.test.ts covers #7.7.
regressionsOn("0.3");
await import("./bulk-criteria-redaction.test.ts");
await import("./implicit-join-columns.test.ts");
await import("./many-to-many-events.test.ts");
await import("./update-changes.test.ts");
await import("./failure-keys.test.ts");
await import("./transaction-ids.test.ts");

it("runs on TypeORM 0.3", async () => {
  const [db] = await blogDatabases();
  expect(db!.orm).toBe(await import("typeorm-0.3"));
});
