import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

/** An order of the demo shop. Column types are explicit: tsx (esbuild) emits no decorator metadata. */
@Entity({ name: "orders" })
export class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  /** The order number customers see; unique, so a second order with the same number fails. */
  @Column({ type: "varchar", length: 40, unique: true }) number!: string;
  @Column({ type: "varchar", length: 80 }) item!: string;
  @Column({ type: "integer" }) qty!: number;
}
