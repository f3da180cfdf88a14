import { Koper, isKoperError } from "@koper/core";
import { SUPPORTED_TYPEORM, TypeormAdapterError, koperTypeorm } from "@koper/typeorm";
import { DataSource } from "typeorm";
import { expect, it } from "vitest";

it("a TypeORM without the afterQuery hook (before 0.3.18) is refused with a typed error naming the supported versions", async () => {
  const dataSource = new DataSource({ type: "sqljs", entities: [] });
  await dataSource.initialize();
  // TypeORM 0.3.17's broadcaster, as far as Koper can tell: the same, without broadcastAfterQueryEvent.
  const broadcaster = Object.getPrototypeOf((dataSource.createQueryRunner() as unknown as { broadcaster: object }).broadcaster) as Record<string, unknown>;
  const hook = broadcaster.broadcastAfterQueryEvent;
  delete broadcaster.broadcastAfterQueryEvent;
  try {
    let error: unknown;
    try {
      koperTypeorm(dataSource, new Koper());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeormAdapterError);
    expect(isKoperError(error) && error.code).toBe("invalid_config");
    expect((error as Error).message).toContain(`Supported: typeorm ${SUPPORTED_TYPEORM}`);
    expect(dataSource.subscribers).toHaveLength(0);
  } finally {
    broadcaster.broadcastAfterQueryEvent = hook;
  }
  expect(() => koperTypeorm(dataSource, new Koper()).detach()).not.toThrow();
  await dataSource.destroy();
});
