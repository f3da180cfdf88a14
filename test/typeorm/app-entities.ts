import "reflect-metadata";
import type { ColumnType, EntitySubscriberInterface, InsertEvent, ValueTransformer } from "typeorm";
import type { Database } from "./databases.ts";

/** A member's plan: an enum column. */
export enum Tier {
  Free = "free",
  Pro = "pro",
}

/** Money held as cents in the database, as an object in the entity (a transformer column). */
export class Money {
  constructor(readonly cents: number) {}
}

const money: ValueTransformer = {
  to: (value: unknown) => (value instanceof Money ? value.cents : value),
  from: (value: unknown) => (value === null || value === undefined ? value : new Money(Number(value))),
};

/**
 * A publishing application's model, on tables of a schema/database of its own. Every column's
 * database name differs from its property (events must carry property names): members with an
 * app-set uuid key, a `select: false` hash, an enum, simple-array/simple-json, an embedded address
 * with a prefix, a transformer column and auto-set dates/version/soft delete; contents in one table
 * (single-table inheritance: posts and pages) with a lazy author, a @RelationId and many-to-many
 * labels; labels keyed by `@Generated("uuid")`; stock keyed by two columns; reactions keyed by two
 * relations; category (closure table) and folder (materialized path) trees; and the app's own
 * subscriber that fills a member's handle in `beforeInsert`.
 * Every column has an explicit type: esbuild emits no decorator metadata.
 */
export function defineApp(db: Database) {
  const { Check, ChildEntity, Column, CreateDateColumn, DeleteDateColumn, Entity, EventSubscriber, Generated, JoinColumn, JoinTable } = db.orm;
  const { ManyToMany, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, RelationId, TableInheritance, Tree, TreeChildren, TreeParent } = db.orm;
  const { UpdateDateColumn, VersionColumn } = db.orm;
  const date: ColumnType = db.name === "postgres" ? "timestamp" : "datetime";
  const enumType: ColumnType = db.name === "sqlite" ? "simple-enum" : "enum";
  const uuid = db.name === "sqlite" ? ({ type: "varchar", length: 36 } as const) : ({ type: "uuid" } as const);

  class Address {
    @Column({ type: "varchar", length: 60, name: "town" }) city!: string;
    @Column({ type: "varchar", length: 12, name: "postcode", nullable: true }) zip!: string | null;
  }

  @Entity({ name: "members" })
  class Member {
    @PrimaryColumn({ type: "varchar", length: 36, name: "member_id" }) id!: string;
    @Column({ type: "varchar", length: 120, unique: true, name: "email_address" }) email!: string;
    /** Filled in by the app's own subscriber (`MemberDefaults`) before insert. */
    @Column({ type: "varchar", length: 60, unique: true, name: "handle_name" }) handle!: string;
    @Column({ type: "varchar", length: 120, select: false, name: "pw_hash" }) passwordHash!: string;
    @Column({ type: enumType, enum: Tier, default: Tier.Free, name: "tier_level" }) tier!: Tier;
    @Column({ type: "simple-array", name: "interest_list" }) interests!: string[];
    @Column({ type: "simple-json", nullable: true, name: "prefs_json" }) prefs!: { theme: string; digest: boolean } | null;
    @Column(() => Address, { prefix: "home" }) home!: Address;
    @Column({ type: "integer", name: "balance_cents", transformer: money }) balance!: Money;
    @Column({ type: "integer", name: "login_count", default: 0 }) logins!: number;
    @CreateDateColumn({ type: date, name: "joined_at" }) joinedAt!: Date;
    @UpdateDateColumn({ type: date, name: "touched_at" }) touchedAt!: Date;
    @VersionColumn({ type: "integer", name: "rev" }) revision!: number;
    @DeleteDateColumn({ type: date, name: "closed_at", nullable: true }) closedAt!: Date | null;
  }

  @EventSubscriber()
  class MemberDefaults implements EntitySubscriberInterface<Member> {
    listenTo() {
      return Member;
    }
    beforeInsert(event: InsertEvent<Member>) {
      const member = event.entity;
      member.email = member.email.toLowerCase();
      member.handle ??= `@${member.email.split("@")[0]}`;
    }
  }

  @Entity({ name: "labels" })
  class Label {
    @PrimaryColumn({ ...uuid, name: "label_id" }) @Generated("uuid") id!: string;
    @Column({ type: "varchar", length: 40, unique: true, name: "label_name" }) name!: string;
  }

  @Entity({ name: "contents" })
  @TableInheritance({ column: { type: "varchar", length: 20, name: "kind" } })
  class Content {
    @PrimaryGeneratedColumn({ type: "integer", name: "content_id" }) id!: number;
    @Column({ type: "varchar", length: 200, name: "headline" }) title!: string;
    @ManyToOne(() => Member, { lazy: true, nullable: true }) @JoinColumn({ name: "author_id" }) author!: Promise<Member | null>;
    @RelationId((content: Content) => content.author) authorKey!: string | null;
    @UpdateDateColumn({ type: date, name: "edited_at" }) editedAt!: Date;
    @VersionColumn({ type: "integer", name: "rev" }) revision!: number;
    @DeleteDateColumn({ type: date, name: "trashed_at", nullable: true }) trashedAt!: Date | null;
  }

  @ChildEntity("post")
  class Post extends Content {
    @Column({ type: "text", name: "body_text", nullable: true }) body!: string | null;
    @ManyToMany(() => Label)
    @JoinTable({ name: "post_labels", joinColumn: { name: "post_ref", referencedColumnName: "id" }, inverseJoinColumn: { name: "label_ref", referencedColumnName: "id" } })
    labels!: Label[];
  }

  @ChildEntity("page")
  class Page extends Content {
    @Column({ type: "varchar", length: 80, unique: true, nullable: true, name: "url_path" }) path!: string | null;
  }

  @Entity({ name: "stock" })
  @Check(`on_hand >= 0`)
  class Stock {
    @PrimaryColumn({ type: "varchar", length: 8, name: "wh_code" }) warehouse!: string;
    @PrimaryColumn({ type: "varchar", length: 20, name: "sku_code" }) sku!: string;
    @Column({ type: "integer", name: "on_hand" }) onHand!: number;
  }

  @Entity({ name: "reactions" })
  class Reaction {
    @PrimaryColumn({ type: "varchar", length: 36, name: "member_ref" }) memberId!: string;
    @PrimaryColumn({ type: "integer", name: "content_ref" }) contentId!: number;
    @ManyToOne(() => Member) @JoinColumn({ name: "member_ref" }) member?: Member;
    @ManyToOne(() => Content, { onDelete: "CASCADE" }) @JoinColumn({ name: "content_ref" }) content?: Content;
    @Column({ type: "varchar", length: 10, name: "emoji" }) kind!: string;
  }

  @Entity({ name: "categories" })
  @Tree("closure-table", { closureTableName: "category" })
  class Category {
    @PrimaryGeneratedColumn({ type: "integer", name: "cat_id" }) id!: number;
    @Column({ type: "varchar", length: 60, name: "cat_name" }) name!: string;
    @TreeParent({ onDelete: "CASCADE" }) parent!: Category | null;
    @TreeChildren() children!: Category[];
  }

  @Entity({ name: "folders" })
  @Tree("materialized-path")
  class Folder {
    @PrimaryGeneratedColumn({ type: "integer", name: "folder_id" }) id!: number;
    @Column({ type: "varchar", length: 60, name: "folder_name" }) name!: string;
    @TreeParent() parent!: Folder | null;
    @TreeChildren() children!: Folder[];
  }

  return {
    entities: { Member, Label, Content, Post, Page, Stock, Reaction, Category, Folder },
    subscribers: [MemberDefaults],
    Address,
  };
}

/** The model `defineApp` returns. */
export type App = ReturnType<typeof defineApp>;
/** The app's entity classes. */
export type AppEntities = App["entities"];
