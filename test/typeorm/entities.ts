import "reflect-metadata";
import type { ColumnType } from "typeorm";
import type { TypeormModule } from "./orm.ts";

/**
 * The contract's entities on tables of their own: every call makes fresh classes (named `Order`,
 * `Customer`, `OrderLine`, as the events name them) mapped to tables suffixed with `suffix`.
 * Every column has an explicit type: esbuild emits no decorator metadata.
 */
export function defineEntities(suffix: string, dateType: ColumnType, orm: TypeormModule) {
  const { Check, Column, DeleteDateColumn, Entity, JoinColumn, ManyToOne, OneToMany, PrimaryGeneratedColumn } = orm;
  @Entity({ name: `customer_${suffix}` })
  class Customer {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 120, unique: true }) email!: string;
    @Column({ type: "varchar", length: 120 }) passwordHash!: string;
  }

  @Entity({ name: `order_${suffix}` })
  @Check(`qty >= 0`)
  class Order {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 60, unique: true }) number!: string;
    @Column({ type: "integer" }) qty!: number;
    @Column({ type: "integer", nullable: true }) customerId!: number | null;
    @ManyToOne(() => Customer, { nullable: true }) @JoinColumn({ name: "customerId" }) customer?: Customer | null;
    @Column({ type: "varchar", length: 120, nullable: true }) note!: string | null;
    @Column({ type: dateType, nullable: true }) createdAt!: Date | null;
    @DeleteDateColumn({ type: dateType, nullable: true }) deletedAt?: Date | null;
    @OneToMany(() => OrderLine, (line) => line.order, { cascade: true }) lines?: OrderLine[];
  }

  @Entity({ name: `line_${suffix}` })
  class OrderLine {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 60 }) sku!: string;
    @Column({ type: "integer" }) qty!: number;
    @ManyToOne(() => Order, (order) => order.lines, { onDelete: "CASCADE" }) @JoinColumn({ name: "orderId" }) order?: Order;
  }

  return { Customer, Order, OrderLine, tables: [`line_${suffix}`, `order_${suffix}`, `customer_${suffix}`] };
}

/** The classes `defineEntities` returns. */
export type Entities = ReturnType<typeof defineEntities>;
