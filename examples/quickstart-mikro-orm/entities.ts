import { EntitySchema } from "@mikro-orm/core";

/** An order of the demo shop: the same shape as the TypeORM quick start's, so both share its listeners. */
export class Order {
  id!: number;
  /** The order number customers see; unique, so a second order with the same number fails. */
  number!: string;
  item!: string;
  qty!: number;
}

/** MikroORM's mapping of `Order`, without decorators. */
export const OrderSchema = new EntitySchema({
  class: Order,
  tableName: "orders",
  properties: {
    id: { type: "integer", primary: true, autoincrement: true },
    number: { type: "string", length: 40, unique: true },
    item: { type: "string", length: 80 },
    qty: { type: "integer" },
  },
});
