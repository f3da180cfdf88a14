import { describe, expect, it } from "vitest";
import { parseRawWrite, rawSavepointOf, rawStatementOf } from "../src/raw.ts";
import { parseSchema } from "../src/schema.ts";

const SCHEMA = `
generator client {
  provider = "prisma-client"
}

model Post {
  id        String   @id @default(uuid()) // app-set key
  title     String
  author    User     @relation(fields: [authorId], references: [id])
  authorId  Int
  tags      Tag[]
  edited    DateTime @updatedAt
  @@map("posts")
  @@schema("blog")
}

model User {
  id    Int    @id @default(autoincrement())
  posts Post[]
}

model Tag {
  name  String
  posts Post[]
}

model Place {
  id     Int                     @id
  geom   Unsupported("geometry")?
  hidden String?                 @ignore
  name   String
}

model Like {
  postId String
  userId Int
  @@id([postId, userId])
}

model Category {
  id       Int        @id
  parent   Category?  @relation("tree", fields: [parentId], references: [id])
  parentId Int?
  children Category[] @relation("tree")
  legacy   Legacy[]   @ignore
}

model Member {
  id        String   @id
  following Member[] @relation("follows")
  followers Member[] @relation(name: "follows")
}

/// A table without a unique key: introspection marks it ignored.
model Legacy {
  categoryId Int
  category   Category @relation(fields: [categoryId], references: [id])
  note       String

  @@ignore
}
`;

describe("parseSchema: what events need from the inlined schema", () => {
  const models = parseSchema(SCHEMA);

  it("reads keys (@id, @@id), tables (@@map), schemas and @updatedAt fields", () => {
    expect(models.get("Post")).toMatchObject({ table: "posts", schema: "blog", key: ["id"], updatedAt: ["edited"] });
    expect(models.get("Like")!.key).toEqual(["postId", "userId"]);
    expect(models.get("Tag")!.key).toEqual([]);
    expect([...models.get("Post")!.scalars]).toEqual(["id", "title", "authorId", "edited"]);
    // Prisma Client has no Unsupported or @ignore field: a select naming one would fail the call.
    expect([...models.get("Place")!.scalars]).toEqual(["id", "name"]);
  });

  it("reads a `//` inside a string as part of it, not as a comment: the attributes after it still count", () => {
    const parsed = parseSchema(`
model Link {
  url     String   @id @default("https://example.com/a\\"//b") // the key
  seen    DateTime @default(dbgenerated("'//'")) @updatedAt /// doc comment
  owner   Person   @relation(fields: [ownerId], references: [id], map: "fk//owner")
  ownerId Int
}

model Person {
  id    Int    @id
  links Link[]
}
`);
    expect(parsed.get("Link")).toMatchObject({ key: ["url"], updatedAt: ["seen"] });
    expect([...parsed.get("Link")!.scalars]).toEqual(["url", "seen", "ownerId"]);
    expect(parsed.get("Link")!.relations.get("owner")).toMatchObject({ model: "Person", holdsKey: true, fields: ["ownerId"], references: ["id"] });
  });

  it("tells one-to-many, the side holding the key, and implicit many-to-many apart", () => {
    // fields/references: the key pair the relation is linked by (on the side holding the key); name: @relation("…").
    expect(models.get("User")!.relations.get("posts")).toEqual({ model: "Post", list: true, manyToMany: false, holdsKey: false, fields: [], references: [], name: undefined });
    expect(models.get("Post")!.relations.get("author")).toEqual({ model: "User", list: false, manyToMany: false, holdsKey: true, fields: ["authorId"], references: ["id"], name: undefined });
    expect(models.get("Post")!.relations.get("tags")).toMatchObject({ list: true, manyToMany: true });
    expect(models.get("Tag")!.relations.get("posts")).toMatchObject({ list: true, manyToMany: true });
  });

  it("a self-relation tree is a one-to-many (children does not find itself as the other side); a self many-to-many needs two list fields", () => {
    const category = models.get("Category")!.relations;
    expect(category.get("children")).toEqual({ model: "Category", list: true, manyToMany: false, holdsKey: false, fields: [], references: [], name: "tree" });
    expect(category.get("parent")).toMatchObject({ list: false, manyToMany: false, holdsKey: true, fields: ["parentId"], references: ["id"], name: "tree" });
    const member = models.get("Member")!.relations;
    expect([member.get("following"), member.get("followers")]).toEqual([
      { model: "Member", list: true, manyToMany: true, holdsKey: false, fields: [], references: [], name: "follows" },
      { model: "Member", list: true, manyToMany: true, holdsKey: false, fields: [], references: [], name: "follows" },
    ]);
  });

  it("skips @@ignore models (Prisma Client has none, and they need no key) and the @ignore fields pointing at them", () => {
    expect(models.has("Legacy")).toBe(false);
    expect(models.get("Category")!.relations.has("legacy")).toBe(false);
    expect(models.get("Category")!.scalars.has("legacy")).toBe(false);
  });
});

describe("parseRawWrite: the statement of $executeRaw / $executeRawUnsafe", () => {
  const pg = (i: number) => `$${i}`;

  it("joins a tagged template's strings with the dialect's placeholders", () => {
    expect(parseRawWrite({ strings: ['UPDATE "orders" SET qty = ', " WHERE id = ", ""], values: [2, 7] }, pg)).toEqual({
      action: "update",
      table: "orders",
      sql: 'UPDATE "orders" SET qty = $1 WHERE id = $2',
      parameters: [2, 7],
    });
  });

  it("reads $executeRawUnsafe's arguments, schema-qualified tables, and ignores what is not a write", () => {
    expect(parseRawWrite(["DELETE FROM `shop`.`orders` WHERE id = ?", 3], () => "?")).toMatchObject({ action: "delete", table: "orders", parameters: [3] });
    expect(parseRawWrite(["INSERT INTO orders (number) VALUES (?)", "A"], () => "?")).toMatchObject({ action: "insert", table: "orders" });
    expect(parseRawWrite(["CREATE TABLE t (id INT)"], () => "?")).toBeUndefined();
    expect(parseRawWrite(["SELECT 1"], () => "?")).toBeUndefined();
  });
});

describe("rawSavepointOf: savepoints an application sets with raw SQL", () => {
  const pg = (i: number) => `$${i}`;
  const savepoint = (args: unknown, placeholder: (i: number) => string = () => "?") => rawSavepointOf(rawStatementOf(args, placeholder)!);

  it("reads SAVEPOINT / RELEASE / ROLLBACK TO, quoted or not, from $executeRawUnsafe and tagged templates", () => {
    expect(savepoint(["SAVEPOINT sp_1"])).toEqual({ kind: "save", name: "sp_1" });
    expect(savepoint(['RELEASE SAVEPOINT "sp 2";'])).toEqual({ kind: "release", name: "sp 2" });
    expect(savepoint({ strings: ["ROLLBACK TO SAVEPOINT `sp3`"], values: [] }, pg)).toEqual({ kind: "rollback", name: "sp3" });
    expect(savepoint(["UPDATE orders SET qty = 1"])).toBeUndefined();
  });

  it("never takes a tagged template's value for a savepoint's name, whatever the dialect's placeholder", () => {
    expect(savepoint({ strings: ["SAVEPOINT ", ""], values: ["x"] }, pg)).toBeUndefined();
    expect(savepoint({ strings: ["SAVEPOINT ", ""], values: ["x"] })).toBeUndefined();
  });
});
