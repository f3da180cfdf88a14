import { describe, expect, it } from "vitest";
import { classifyFailure, toEventError } from "@koper/core";

// MariaDB's message for a CHECK violation (errno 4025, SQLSTATE 23000), as its server sends it.
const CHECK = new Error("CONSTRAINT `chk_order_qty` failed for `shop`.`order_x`");

describe("database errors", () => {
  it("a MariaDB CHECK violation is a check_violation under MariaDB's own name, however the driver named it", () => {
    const shapes = [
      { code: "ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE", errno: 4025 }, // mysql2: MySQL's name for 4025
      { code: "ER_CONSTRAINT_FAILED", errno: 4025 }, // the mariadb connector
      { code: "23000", errno: 4025 }, // SQLSTATE only: a duplicate key's too
      { errno: 4025 },
      { code: 4025 },
    ];
    for (const info of shapes) {
      expect(toEventError(CHECK, info), JSON.stringify(info)).toMatchObject({
        code: "check_violation",
        original: { code: "ER_CONSTRAINT_FAILED", constraint: "chk_order_qty", table: "order_x" },
      });
    }
  });

  it("the constraint and table the driver names win over the message's; other errors keep their own code", () => {
    expect(toEventError(CHECK, { errno: 4025, constraint: "c", table: "t" }).original).toEqual({ code: "ER_CONSTRAINT_FAILED", constraint: "c", table: "t" });
    expect(toEventError(new Error("Duplicate entry"), { code: "ER_DUP_ENTRY", errno: 1062 }).original).toEqual({ code: "ER_DUP_ENTRY" });
    expect(toEventError(new Error("x"), { errno: 1062 }).original).toEqual({ code: "1062" });
    expect(toEventError(new Error("new row violates check constraint"), { code: "23514", constraint: "orders_qty_check" })).toMatchObject({
      code: "check_violation",
      original: { code: "23514", constraint: "orders_qty_check" },
    });
    expect(classifyFailure({ code: "23000", errno: 1062 })).toBe("unique_violation");
  });
});
