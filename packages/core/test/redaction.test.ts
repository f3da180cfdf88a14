import { describe, expect, it } from "vitest";
import { ChangeCapture, MASK, type BuildOptions, type CaptureSink, type ChangeDraft, type DataEvent } from "@koper/core";

// A fake of Koper's own CaptureSink interface: records what the capture hands over.
function capture(options: BuildOptions) {
  const published: DataEvent[] = [];
  const sink: CaptureSink = { publish: async (events) => void published.push(...events), dropped: () => {} };
  return { capture: new ChangeCapture(sink, options), published };
}

const redact: BuildOptions["redact"] = { User: { passwordHash: "remove", email: "mask", phone: (v) => `…${String(v).slice(-2)}` } };

const bulkDraft = (criteria: NonNullable<ChangeDraft["bulk"]>["criteria"], set?: Record<string, unknown>): ChangeDraft => ({
  entity: "User",
  action: "update",
  key: null,
  data: null,
  bulk: { criteria, affected: 1, ...(set ? { set } : {}) },
  source: { orm: "test" },
});

describe("redaction of criteria", () => {
  it("applies each rule at every depth of a where tree: $or/$and/$not, OR/AND/NOT, operator objects, relation filters", async () => {
    const { capture: c, published } = capture({ redact });
    await c.record(undefined, bulkDraft({
      kind: "where",
      where: {
        username: "ann",
        passwordHash: "h0",
        $or: [{ email: "a@x.io" }, { email: { $in: ["b@x.io"] } }, { $and: [{ passwordHash: { $ne: "h1" } }] }],
        OR: [{ NOT: { passwordHash: "h2" } }, { phone: { in: ["0612345678", "0687654321"] } }],
        profile: { email: { contains: "c@x.io" } },
      },
    }, { passwordHash: "h3", email: "d@x.io" }));
    const bulk = published[0]!.bulk!;
    expect(bulk.criteria).toEqual({
      kind: "where",
      // A removed field's condition is masked, not dropped: dropped, `NOT: { passwordHash }` would read `NOT: {}`.
      where: {
        username: "ann",
        passwordHash: MASK,
        $or: [{ email: MASK }, { email: MASK }, { $and: [{ passwordHash: MASK }] }],
        OR: [{ NOT: { passwordHash: MASK } }, { phone: { in: ["…78", "…21"] } }],
        profile: { email: MASK },
      },
    });
    expect(bulk.set).toEqual({ email: MASK });
    expect(JSON.stringify(published)).not.toMatch(/h[0-3]|[a-d]@x\.io|0612345678/);
  });

  it("a relation filter (another entity's fields) masks every field redacted on any entity; the entity's own fields stay", async () => {
    const { capture: c, published } = capture({ redact: { ...redact, Card: ["cvv"] } });
    await c.record(undefined, { ...bulkDraft({ kind: "where", where: { $or: [{ title: "t" }, { author: { passwordHash: "h1", name: "ann", cards: { some: { cvv: "123" } } } }] } }), entity: "Article" });
    expect(published[0]!.bulk!.criteria).toEqual({
      kind: "where",
      where: { $or: [{ title: "t" }, { author: { passwordHash: MASK, name: "ann", cards: { some: { cvv: MASK } } } }] },
    });
  });

  it("SQL criteria: a parameter bound to a redacted column is masked, one whose column is unknown too, literals as well", async () => {
    const { capture: c, published } = capture({ redact });
    await c.record(undefined, bulkDraft({
      kind: "sql",
      sql: `"username" = $1 AND "passwordHash" = $2 AND lower(x) = $3 AND note = 'secret literal'`,
      parameters: ["ann", "h1", "mystery"],
      columns: ["username", "passwordHash", undefined],
    }));
    await c.record(undefined, bulkDraft({ kind: "sql", sql: `"username" = ?`, parameters: ["ann"] }));
    expect(published[0]!.bulk!.criteria).toEqual({
      kind: "sql",
      sql: `"username" = $1 AND "passwordHash" = $2 AND lower(x) = $3 AND note = '${MASK}'`,
      parameters: ["ann", MASK, MASK],
    });
    expect(published[1]!.bulk!.criteria).toEqual({ kind: "sql", sql: `"username" = ?`, parameters: [MASK] });
  });

  it("an entity without rules keeps what is known to be its own, and hides what may be another entity's", async () => {
    const { capture: c, published } = capture({ redact });
    await c.record(undefined, { ...bulkDraft({ kind: "sql", sql: "a = ? AND x.h = ?", parameters: [1, "h1"], columns: ["a", undefined] }), entity: "Order" });
    await c.record(undefined, { ...bulkDraft({ kind: "sql", sql: "a = ?", parameters: [1] }), entity: "Order" });
    expect(published[0]!.bulk!.criteria).toEqual({ kind: "sql", sql: "a = ? AND x.h = ?", parameters: [1, MASK] });
    const { capture: plain, published: out } = capture({});
    await plain.record(undefined, { ...bulkDraft({ kind: "sql", sql: "a = ?", parameters: [1] }), entity: "Order" });
    expect(out[0]!.bulk!.criteria).toEqual({ kind: "sql", sql: "a = ?", parameters: [1] });
  });
});

describe("redaction of keys", () => {
  it("a redacted field in the primary key is masked there (never removed: the key keeps its shape)", async () => {
    const { capture: c, published } = capture({ redact });
    await c.record(undefined, { entity: "User", action: "insert", key: { email: "a@x.io", tenant: 1 }, data: { email: "a@x.io", tenant: 1 }, source: { orm: "test" } });
    expect(published[0]!.key).toEqual({ email: MASK, tenant: 1 });
    expect(published[0]!.data).toEqual({ email: MASK, tenant: 1 });
  });
});

describe("redaction of failures", () => {
  const fail = async (draft: ChangeDraft, message: string, detail?: string) => {
    const { capture: c, published } = capture({ redact });
    const error = Object.assign(new Error(message), { name: "QueryFailedError" });
    await c.fail(undefined, draft, error, { code: "23505", ...(detail ? { detail } : {}) });
    return published[0]!.error!;
  };
  const row = (data: Record<string, unknown>): ChangeDraft => ({ entity: "User", action: "insert", key: null, data, source: { orm: "test" } });

  it("PostgreSQL's Key (email)=(…) and a NOT NULL detail quoting the whole row lose the values", async () => {
    const dup = await fail(row({ email: "a@x.io", passwordHash: "h1" }), `duplicate key value violates unique constraint "uq"`, "Key (email)=(a@x.io) already exists.");
    expect(dup.original?.detail).toBe(`Key (email)=(${MASK}) already exists.`);
    const notNull = await fail(row({ email: null, passwordHash: "h1" }), `null value in column "email" violates not-null constraint`, "Failing row contains (7, null, h1, (1,2)).");
    expect(notNull.original?.detail).toBe(`Failing row contains (${MASK}).`);
    expect(notNull.message).toBe(`null value in column "email" violates not-null constraint`);
  });

  it("a value the database could not convert is hidden even when the write never carried it (a stored row's, read by a criteria expression)", async () => {
    const bulk = bulkDraft({ kind: "sql", sql: "password_hash || name = ?", parameters: ["param-value"] });
    const mysql = await fail(bulk, "Truncated incorrect DECIMAL value: 'stored-s3cr3t'");
    expect(mysql.message).toBe(`Truncated incorrect DECIMAL value: '${MASK}'`);
    const mysqlInt = await fail(bulk, "Incorrect integer value: 'stored-s3cr3t' for column `qty` at row 1");
    expect(mysqlInt.message).toBe(`Incorrect integer value: '${MASK}' for column \`qty\` at row 1`);
    const pg = await fail(bulk, 'invalid input syntax for type integer: "stored-s3cr3t"');
    expect(pg.message).toBe(`invalid input syntax for type integer: "${MASK}"`);
    const pgEnum = await fail(bulk, 'invalid input value for enum mood: "stored-s3cr3t"');
    expect(pgEnum.message).toBe(`invalid input value for enum mood: "${MASK}"`);
  });

  it("a quoted value with quotes inside is hidden whole (databases do not double them)", async () => {
    const bulk = bulkDraft({ kind: "sql", sql: "password_hash || name = ?", parameters: ["param-value"] });
    const mysql = await fail(bulk, "Incorrect integer value: 'it's-s3cr3t' for column 'qty' at row 1");
    expect(mysql.message).toBe(`Incorrect integer value: '${MASK}' for column 'qty' at row 1`);
    const decimal = await fail(bulk, "Truncated incorrect DECIMAL value: 'a' b 's3cr3t'");
    expect(decimal.message).toBe(`Truncated incorrect DECIMAL value: '${MASK}'`);
    const pg = await fail(bulk, 'invalid input syntax for type integer: "say "s3cr3t" twice"');
    expect(pg.message).toBe(`invalid input syntax for type integer: "${MASK}"`);
    const long = "o'neil-" + "x".repeat(80) + "@x.io";
    const dup = await fail(row({ email: long }), `Duplicate entry '${long.slice(0, 64)}' for key 'uq_email'`);
    expect(dup.message).toBe(`Duplicate entry '${MASK}' for key 'uq_email'`);
  });

  it("on an entity without rules of its own, values its criteria read through another entity's redacted field are hidden; its own row is not", async () => {
    const failOrder = async (draft: Partial<ChangeDraft>, message: string, detail?: string) => {
      const { capture: c, published } = capture({ redact });
      const error = Object.assign(new Error(message), { name: "QueryFailedError" });
      await c.fail(undefined, { ...bulkDraft(null), entity: "Order", ...draft }, error, { code: "22P02", ...(detail ? { detail } : {}) });
      return published[0]!.error!;
    };
    const where = { bulk: { criteria: { kind: "where" as const, where: { customer: { passwordHash: "h9-secret" } } }, affected: 0 } };
    expect((await failOrder(where, "value h9-secret refused")).message).toBe(`value ${MASK} refused`);
    const sql = { bulk: { criteria: { kind: "sql" as const, sql: "customer_id IN (SELECT id FROM users WHERE password_hash = $1)", parameters: ["h8-secret"] }, affected: 0 } };
    expect((await failOrder(sql, "cannot compare h8-secret")).message).toBe(`cannot compare ${MASK}`);
    expect((await failOrder(sql, 'invalid input syntax for type integer: "stored-s3cr3t"')).message).toBe(`invalid input syntax for type integer: "${MASK}"`);
    const row = await failOrder({ action: "insert", data: { qty: -1 } }, `new row for relation "orders" violates check constraint "qty"`, "Failing row contains (7, -1).");
    expect(row.original?.detail).toBe("Failing row contains (7, -1).");
  });

  it("MySQL's Duplicate entry '…', even truncated, and values found in the criteria", async () => {
    const long = "x".repeat(80) + "@x.io";
    const dup = await fail(row({ email: long }), `Duplicate entry '${long.slice(0, 64)}' for key 'uq_email'`);
    expect(dup.message).toBe(`Duplicate entry '${MASK}' for key 'uq_email'`);
    const bulk = await fail(bulkDraft({ kind: "where", where: { $or: [{ passwordHash: "h9" }] } }, { email: "e@x.io" }), "value h9 and e@x.io refused");
    expect(bulk.message).toBe(`value ${MASK} and ${MASK} refused`);
  });
});

describe("bulk criteria on the wire", () => {
  it("the schema takes the two kinds and null, and refuses criteria without a kind", async () => {
    const { DataEvent } = await import("@koper/core");
    const { capture: c, published } = capture({});
    await c.record(undefined, bulkDraft({ kind: "where", where: { $or: [{ a: 1 }] } }));
    await c.record(undefined, bulkDraft({ kind: "sql", sql: "a = $1", parameters: [1] }));
    await c.record(undefined, bulkDraft(null));
    for (const event of published) expect(() => DataEvent.parse(JSON.parse(JSON.stringify(event)))).not.toThrow();
    const legacy = { ...published[0]!, bulk: { criteria: { where: "a = $1", parameters: [1] }, affected: 1 } };
    expect(() => DataEvent.parse(JSON.parse(JSON.stringify(legacy)))).toThrow();
  });
});
