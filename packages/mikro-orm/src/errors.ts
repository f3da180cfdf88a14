import { KoperError, type KoperErrorOptions } from "@koper/core";

/** Misuse of the MikroORM adapter: fix the call, retrying changes nothing. */
export class MikroOrmAdapterError extends KoperError {
  private constructor(message: string, options: KoperErrorOptions = {}) {
    super("invalid_config", message, options);
  }

  /** The first argument is not an initialized MikroORM instance. */
  static notAnOrm(what: unknown): MikroOrmAdapterError {
    return new MikroOrmAdapterError(
      `koperMikroOrm(orm, koper) expects a MikroORM instance, got ${describe(what)}. ` +
        "Pass what `await MikroORM.init({...})` returned.",
    );
  }

  /** The second argument is not a Koper instance. */
  static notAKoper(what: unknown): MikroOrmAdapterError {
    return new MikroOrmAdapterError(
      `koperMikroOrm(orm, koper) expects a Koper instance as second argument, got ${describe(what)}. ` +
        "Pass the `new Koper(...)` your listeners are registered on.",
    );
  }

  /** Koper is already attached to this ORM. */
  static alreadyAttached(): MikroOrmAdapterError {
    return new MikroOrmAdapterError(
      "Koper is already attached to this MikroORM instance (by koperMikroOrm or as a subscriber in MikroORM.init); " +
        "attaching twice would publish every event twice. Call detach() on the first handle before attaching again.",
    );
  }

  /** `entities` or `exclude` names an entity the ORM does not have. */
  static unknownEntity(name: string, known: string[]): MikroOrmAdapterError {
    return new MikroOrmAdapterError(
      `koperMikroOrm option names entity "${name}", which this MikroORM instance does not know. ` +
        `Known entities: ${known.join(", ") || "(none)"}. Fix the name or pass the entity class.`,
      { details: { entity: name } },
    );
  }

  /** `outbox` or `audit` is on, but Koper writes no SQL for this platform. */
  static unsupportedDialect(platform: string): MikroOrmAdapterError {
    return new MikroOrmAdapterError(
      `koperMikroOrm cannot write outbox or audit rows on ${platform}: Koper writes SQL for PostgreSQL, MySQL/MariaDB and SQLite.`,
      { details: { platform } },
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "an object";
}
