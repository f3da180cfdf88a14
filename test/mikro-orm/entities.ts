import { Collection, EntitySchema } from "@mikro-orm/core";

/**
 * The contract's entities, on tables of their own: every call makes schemas for fresh table names
 * (suffixed) and fresh classes: MikroORM keeps an entity's metadata on its class, so two ORMs alive
 * at once must not share one. The events name them `Order`, `Customer`, `OrderLine`, `Tag`.
 */
export function defineEntities(suffix: string) {
  /** A customer; `passwordHash` is the field the contract redacts. */
  class Customer {
    id!: number;
    email!: string;
    passwordHash!: string;
  }

  /** A tag, in a many-to-many collection of orders, with an app-set key. */
  class Tag {
    id!: string;
    name!: string;
  }

  /** An embeddable shipping address. */
  class Address {
    city!: string;
    zip!: string;
  }

  /** An order: a reference to its customer (no FK property), lines by cascade, tags, an embeddable and a JSON column. */
  class Order {
    id!: number;
    number!: string;
    qty!: number;
    customer?: Customer | null;
    note?: string | null;
    address?: Address | null;
    meta?: Record<string, unknown> | null;
    lines = new Collection<OrderLine>(this);
    tags = new Collection<Tag>(this);
    createdAt?: Date | null;
    updatedAt?: Date;
  }

  /** A line of an order, saved by cascade with it. */
  class OrderLine {
    id!: number;
    sku!: string;
    qty!: number;
    order!: Order;
  }

  const CustomerSchema = new EntitySchema({
    class: Customer,
    tableName: `customer_${suffix}`,
    properties: {
      id: { type: "integer", primary: true, autoincrement: true },
      email: { type: "string", length: 120, unique: true },
      passwordHash: { type: "string", length: 120 },
    },
  });
  const TagSchema = new EntitySchema({
    class: Tag,
    tableName: `tag_${suffix}`,
    properties: { id: { type: "string", length: 36, primary: true }, name: { type: "string", length: 60 } },
  });
  const AddressSchema = new EntitySchema({
    class: Address,
    embeddable: true,
    properties: { city: { type: "string", length: 60 }, zip: { type: "string", length: 12 } },
  });
  const OrderSchema = new EntitySchema({
    class: Order,
    tableName: `order_${suffix}`,
    checks: [{ name: `chk_order_${suffix}_qty`, expression: "qty >= 0" }],
    properties: {
      id: { type: "integer", primary: true, autoincrement: true },
      number: { type: "string", length: 60, unique: true },
      qty: { type: "integer" },
      customer: { kind: "m:1", entity: () => Customer, nullable: true, deleteRule: "no action" },
      note: { type: "string", length: 120, nullable: true },
      address: { kind: "embedded", entity: () => Address, nullable: true },
      meta: { type: "json", nullable: true },
      lines: { kind: "1:m", entity: () => OrderLine, mappedBy: "order", cascade: ["persist" as never, "remove" as never] },
      tags: { kind: "m:n", entity: () => Tag, owner: true, pivotTable: `order_tags_${suffix}` },
      createdAt: { type: "datetime", nullable: true },
      updatedAt: { type: "datetime", nullable: true, onUpdate: () => new Date() },
    },
  });
  const OrderLineSchema = new EntitySchema({
    class: OrderLine,
    tableName: `line_${suffix}`,
    properties: {
      id: { type: "integer", primary: true, autoincrement: true },
      sku: { type: "string", length: 60 },
      qty: { type: "integer" },
      order: { kind: "m:1", entity: () => Order, deleteRule: "cascade" },
    },
  });
  return { Customer, Tag, Address, Order, OrderLine, schemas: [CustomerSchema, TagSchema, AddressSchema, OrderSchema, OrderLineSchema] };
}

/** The classes and schemas `defineEntities` returns. */
export type Entities = ReturnType<typeof defineEntities>;
