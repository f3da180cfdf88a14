import { describe, expect, it } from "vitest";
import { methodOwner } from "@koper/core";

describe("methodOwner", () => {
  class Base {
    run(): string {
      return "base";
    }
  }
  class Derived extends Base {}
  class Overriding extends Derived {
    override run(): string {
      return "overriding";
    }
  }

  it("finds the nearest prototype that defines the method itself", () => {
    expect(methodOwner(new Derived(), "run")).toBe(Base.prototype);
    expect(methodOwner(new Overriding(), "run")).toBe(Overriding.prototype);
  });

  it("ignores the object's own properties and answers undefined when no prototype has the name", () => {
    const object = Object.assign(new Derived(), { walk: () => "own" });
    expect(methodOwner(object, "walk")).toBeUndefined();
    expect(methodOwner(Object.create(null) as object, "run")).toBeUndefined();
  });
});
