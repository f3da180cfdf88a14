import "reflect-metadata";
import mysql from "mysql2/promise";
import { DataListener, Koper, type DataEvent, type Row } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import type { DataSource, DataSourceOptions } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVERS } from "../support/servers.ts";
import { database, suffix } from "./databases.ts";

/** Every failure event of `Gauge`, in order. */
@DataListener({ entity: "Gauge" })
class GaugeFailures {
  readonly events: DataEvent[] = [];
  onInsertGauge_X(_row: Row, event: DataEvent) { this.events.push(event); }
  onUpdateGauge_X(_row: Row, event: DataEvent) { this.events.push(event); }
  onBulkUpdateGauge_X(event: DataEvent) { this.events.push(event); }
}

// MariaDB refuses a CHECK with errno 4025 (ER_CONSTRAINT_FAILED, SQLSTATE 23000); mysql2 names
// errors by MySQL's table, where 4025 is ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE.
const db = await database("mariadb");
describe.skipIf(db.skip !== undefined)("typeorm on MariaDB: a CHECK violation", () => {
  const name = `koper_check_${suffix()}`;
  const admin = () => mysql.createConnection({ host: SERVERS.mariadb.host, port: SERVERS.mariadb.port, user: SERVERS.mariadb.user, password: SERVERS.mariadb.password });
  let dataSource: DataSource;
  let Gauges: new () => { id: number; level: number };
  // The class is named Gauge where it is declared (no other binding of that name in scope): events carry it.
  const defineGauge = () => {
    const { Column, Entity, PrimaryGeneratedColumn } = db.orm;
    @Entity({ name: "gauge" })
    class Gauge {
      @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
      @Column({ type: "integer" }) level!: number;
    }
    return Gauge;
  };

  beforeAll(async () => {
    const connection = await admin();
    await connection.query(`CREATE DATABASE \`${name}\``).finally(() => connection.end());
    Gauges = defineGauge();
    dataSource = new db.orm.DataSource({ ...db.options, database: name, entities: [Gauges], synchronize: true, logging: false } as DataSourceOptions);
    await dataSource.initialize();
    await dataSource.query("ALTER TABLE `gauge` ADD CONSTRAINT `chk_gauge_level` CHECK (`level` >= 0)");
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    const connection = await admin();
    await connection.query(`DROP DATABASE IF EXISTS \`${name}\``).finally(() => connection.end());
  });

  it("is a check_violation, as PostgreSQL's 23514, with MariaDB's own name for it and the constraint's", async () => {
    const koper = new Koper();
    const failures = new GaugeFailures();
    koper.register(failures);
    await koper.start();
    const handle = koperTypeorm(dataSource, koper);
    try {
      const m = dataSource.manager;
      const thrown: unknown = await m.save(m.create(Gauges, { level: -1 })).catch((error: unknown) => error);
      const { driverError } = thrown as { driverError?: { errno?: number; code?: string } };
      expect([driverError?.errno, driverError?.code]).toEqual([4025, "ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE"]); // what mysql2 says
      const gauge = await m.save(m.create(Gauges, { level: 1 }));
      gauge.level = -2;
      await expect(m.save(gauge)).rejects.toThrow();
      await expect(m.update(Gauges, { id: gauge.id }, { level: -3 })).rejects.toThrow();
    } finally {
      await koper.stop();
      handle.detach();
    }
    expect(failures.events.map((e) => [e.action, e.bulk ? "bulk" : "row"])).toEqual([["insert", "row"], ["update", "row"], ["update", "bulk"]]);
    for (const event of failures.events) {
      expect(event.error).toMatchObject({ code: "check_violation", original: { code: "ER_CONSTRAINT_FAILED", constraint: "chk_gauge_level", table: "gauge" } });
    }
  });
});
