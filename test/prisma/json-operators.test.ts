import { describe, expect, it } from "vitest";
import { scalarsOf } from "../../packages/prisma/src/drafts.ts";
import { parseSchema } from "../../packages/prisma/src/schema.ts";

// `Json[]` is a PostgreSQL/CockroachDB type the shared test schemas lack: the schema text is read here.
const models = parseSchema(`
model Doc {
  id    Int    @id
  meta  Json?
  body  Json
  metas Json[]
  tags  String[]
  qty   Int
}
`);
const doc = models.get("Doc")!;

describe("scalarsOf: which { set } / { push } / { increment } in data is an operator", () => {
  it("a Json field's object is its value, whatever its key", () => {
    expect([...doc.json].sort()).toEqual(["body", "meta"]);
    expect(scalarsOf(doc, { meta: { set: "x" }, body: { increment: 1 } })).toEqual({ meta: { set: "x" }, body: { increment: 1 } });
  });

  it("a Json[] list takes set and push as operators, like any list; an array is its value", () => {
    expect(scalarsOf(doc, { metas: { set: [{ a: 1 }] }, tags: { set: ["t"] } })).toEqual({ metas: [{ a: 1 }], tags: ["t"] });
    expect(scalarsOf(doc, { metas: { push: { a: 1 } }, qty: { increment: 1 } })).toEqual({});
    expect(scalarsOf(doc, { metas: [{ set: 1 }], qty: { set: 2 } })).toEqual({ metas: [{ set: 1 }], qty: 2 });
  });
});
