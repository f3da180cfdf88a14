import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";

/** An order; its id is a uuid the application sets. */
@Entity("orders")
export class Order {
  @PrimaryColumn({ type: "varchar", length: 36 }) id!: string;
  @Column({ type: "varchar", length: 40, unique: true }) number!: string;
  @Column({ type: "integer" }) qty!: number;
  @Column({ type: "varchar", length: 40 }) phone!: string;
  @CreateDateColumn({ type: "varchar" }) createdAt!: string;
}
