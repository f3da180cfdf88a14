import "reflect-metadata";
import type { ColumnType } from "typeorm";
import type { Database } from "../../typeorm/databases.ts";

/** A user's role: an enum column. */
export enum Role {
  Reader = "reader",
  Author = "author",
  Admin = "admin",
}

/**
 * A blog as real applications model it, on tables of its own (suffixed): users with app-set
 * uuid keys, a redacted password hash, an enum and auto-set dates/version; tags; articles with an
 * app-set uuid, JSON, bigint, soft delete, an author by `@ManyToOne` without an explicit FK column
 * and a many-to-many tag relation; comments by `@ManyToOne` only.
 * Every column has an explicit type: esbuild emits no decorator metadata.
 */
export function defineBlog(suffix: string, db: Database) {
  const { Column, CreateDateColumn, DeleteDateColumn, Entity, JoinTable, ManyToMany, ManyToOne, OneToMany } = db.orm;
  const { PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn } = db.orm;
  const date: ColumnType = db.name === "postgres" ? "timestamp" : "datetime";
  const json: ColumnType = db.name === "postgres" ? "jsonb" : db.name === "mariadb" ? "json" : "simple-json";
  const enumType: ColumnType = db.name === "sqlite" ? "simple-enum" : "enum";

  @Entity({ name: `users_${suffix}` })
  class User {
    @PrimaryColumn({ type: "varchar", length: 36 }) id!: string;
    @Column({ type: "varchar", length: 60, unique: true }) username!: string;
    @Column({ type: "varchar", length: 120, unique: true }) email!: string;
    @Column({ type: "varchar", length: 120 }) passwordHash!: string;
    @Column({ type: enumType, enum: Role, default: Role.Reader }) role!: Role;
    @CreateDateColumn({ type: date }) createdAt!: Date;
    @UpdateDateColumn({ type: date }) updatedAt!: Date;
    @VersionColumn({ type: "integer" }) version!: number;
    @OneToMany(() => Article, (article) => article.author) articles?: Article[];
  }

  @Entity({ name: `tags_${suffix}` })
  class Tag {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 40, unique: true }) name!: string;
  }

  @Entity({ name: `articles_${suffix}` })
  class Article {
    @PrimaryColumn({ type: "varchar", length: 36 }) id!: string;
    @Column({ type: "varchar", length: 80, unique: true }) slug!: string;
    @Column({ type: "varchar", length: 200 }) title!: string;
    @Column({ type: "text" }) body!: string;
    @Column({ type: json, nullable: true }) meta!: { words: number; lang: string } | null;
    @Column({ type: "bigint", default: 0 }) views!: string;
    @Column({ type: date, nullable: true }) publishedAt!: Date | null;
    @ManyToOne(() => User, (user) => user.articles, { nullable: false }) author!: User;
    @ManyToMany(() => Tag) @JoinTable() tags!: Tag[];
    @OneToMany(() => Comment, (comment) => comment.article) comments?: Comment[];
    @UpdateDateColumn({ type: date }) updatedAt!: Date;
    @VersionColumn({ type: "integer" }) version!: number;
    @DeleteDateColumn({ type: date, nullable: true }) deletedAt!: Date | null;
  }

  @Entity({ name: `comments_${suffix}` })
  class Comment {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 500 }) body!: string;
    @ManyToOne(() => Article, (article) => article.comments, { onDelete: "CASCADE" }) article!: Article;
    @ManyToOne(() => User, { nullable: true }) author!: User | null;
  }

  /** A key the ORM generates: a uuid TypeORM makes itself on MySQL/MariaDB and SQLite, the database on PostgreSQL. */
  @Entity({ name: `bookmarks_${suffix}` })
  class Bookmark {
    @PrimaryGeneratedColumn("uuid") id!: string;
    @Column({ type: "varchar", length: 200, unique: true }) url!: string;
  }

  return { User, Tag, Article, Comment, Bookmark };
}

/** The classes `defineBlog` returns. */
export type Blog = ReturnType<typeof defineBlog>;
