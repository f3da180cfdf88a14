import { randomUUID } from "node:crypto";
import { Collection, EntitySchema, Type, type Ref } from "@mikro-orm/core";

/** A custom type whose database form differs from the entity's: a list of strings stored as "a|b". */
export class PipeListType extends Type<string[] | null, string | null> {
  override convertToDatabaseValue(value: string[] | null): string | null {
    return value === null || value === undefined ? null : value.join("|");
  }
  override convertToJSValue(value: string | string[] | null): string[] | null {
    if (value === null || value === undefined) return null;
    return Array.isArray(value) ? value : value === "" ? [] : value.split("|");
  }
  override getColumnType(): string {
    return "varchar(200)";
  }
}

/**
 * A model shaped like a real application's, fresher than the contract's: an author with an
 * app-set uuid key, a secret, an embeddable, a JSON property, timestamps, a version and a database
 * default; books that reference their author with no FK property (cascade persist/remove, orphan
 * removal); tags in a many-to-many collection (owning side, pivot table). Fresh classes per call:
 * MikroORM keeps an entity's metadata on its class.
 */
export function defineApp() {
  class Address {
    city!: string;
    zip!: string;
  }

  class Author {
    id: string = randomUUID();
    name!: string;
    email!: string;
    passwordHash!: string;
    /** A secret with a unique index: the database quotes it in a violation's message. */
    apiKey?: string | null;
    address?: Address | null;
    profile?: Record<string, unknown> | null;
    status?: string;
    createdAt?: Date;
    updatedAt?: Date;
    version?: number;
    books = new Collection<Book>(this);
  }

  class Tag {
    id!: string;
    label!: string;
  }

  class Book {
    id!: number;
    title!: string;
    featured?: boolean;
    keywords?: string[] | null;
    price?: string | null;
    author!: Author;
    /** A second reference, as MikroORM's `Ref` wrapper. */
    editor?: Ref<Author> | null;
    tags = new Collection<Tag>(this);
  }

  const schemas = [
    new EntitySchema({
      class: Address,
      embeddable: true,
      properties: { city: { type: "string", length: 60 }, zip: { type: "string", length: 12 } },
    }),
    new EntitySchema({
      class: Author,
      tableName: "app_author",
      properties: {
        id: { type: "uuid", primary: true },
        name: { type: "string", length: 80 },
        email: { type: "string", length: 120, unique: true },
        passwordHash: { type: "string", length: 120 },
        apiKey: { type: "string", length: 80, nullable: true, unique: true },
        address: { kind: "embedded", entity: () => Address, nullable: true },
        profile: { type: "json", nullable: true },
        status: { type: "string", length: 20, defaultRaw: "'active'" },
        createdAt: { type: "datetime", onCreate: () => new Date() },
        updatedAt: { type: "datetime", onCreate: () => new Date(), onUpdate: () => new Date() },
        version: { type: "integer", version: true },
        books: { kind: "1:m", entity: () => Book, mappedBy: "author", cascade: ["persist" as never, "remove" as never], orphanRemoval: true },
      },
    }),
    new EntitySchema({
      class: Tag,
      tableName: "app_tag",
      properties: { id: { type: "string", length: 36, primary: true }, label: { type: "string", length: 40 } },
    }),
    new EntitySchema({
      class: Book,
      tableName: "app_book",
      properties: {
        id: { type: "integer", primary: true, autoincrement: true },
        title: { type: "string", length: 120 },
        featured: { type: "boolean", default: false },
        keywords: { type: PipeListType, nullable: true },
        price: { type: "decimal", precision: 10, scale: 2, nullable: true },
        author: { kind: "m:1", entity: () => Author },
        editor: { kind: "m:1", entity: () => Author, ref: true, nullable: true },
        tags: { kind: "m:n", entity: () => Tag, owner: true, pivotTable: "app_book_tags" },
      },
    }),
  ];
  return { Address, Author, Tag, Book, schemas };
}

export type App = ReturnType<typeof defineApp>;
