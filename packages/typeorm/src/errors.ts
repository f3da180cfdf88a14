import { KoperError, type KoperErrorOptions } from "@koper/core";

/** The TypeORM versions the adapter supports (its peer dependency range). */
export const SUPPORTED_TYPEORM = "^0.3.20 || ^1.1.0";

/** Misuse of the TypeORM adapter: fix the call, retrying changes nothing. */
export class TypeormAdapterError extends KoperError {
  private constructor(message: string, options: KoperErrorOptions = {}) {
    super("invalid_config", message, options);
  }

  /** The first argument is not a TypeORM DataSource. */
  static notADataSource(what: unknown): TypeormAdapterError {
    return new TypeormAdapterError(
      `koperTypeorm(dataSource, koper) expects a TypeORM DataSource, got ${describe(what)}. ` +
        "Pass the DataSource you created with `new DataSource({...})`.",
    );
  }

  /** The second argument is not a Koper instance. */
  static notAKoper(what: unknown): TypeormAdapterError {
    return new TypeormAdapterError(
      `koperTypeorm(dataSource, koper) expects a Koper instance as second argument, got ${describe(what)}. ` +
        "Pass the `new Koper(...)` your listeners are registered on.",
    );
  }

  /** Koper is already attached to this DataSource. */
  static alreadyAttached(): TypeormAdapterError {
    return new TypeormAdapterError(
      "Koper is already attached to this DataSource; attaching twice would publish every event twice. " +
        "Call detach() on the first handle before attaching again.",
    );
  }

  /** The DataSource comes from a TypeORM version whose hooks cannot give Koper what it needs. */
  static unsupportedVersion(missing: string): TypeormAdapterError {
    return new TypeormAdapterError(
      `This DataSource comes from a TypeORM version @koper/typeorm cannot capture correctly: it lacks ${missing}. ` +
        `Supported: typeorm ${SUPPORTED_TYPEORM} (tested on 0.3.20, 0.3.28 and 1.1). Upgrade TypeORM, e.g. \`npm install typeorm@^0.3.28\`.`,
      { details: { supported: SUPPORTED_TYPEORM, missing } },
    );
  }

  /** `entities` or `exclude` names an entity the DataSource does not have. */
  static unknownEntity(name: string, known: string[]): TypeormAdapterError {
    return new TypeormAdapterError(
      `koperTypeorm option names entity "${name}", which this DataSource does not know. ` +
        `Known entities: ${known.join(", ") || "(none)"}. Fix the name or pass the entity class.`,
      { details: { entity: name } },
    );
  }

  /** `outbox` or `audit` is on, but Koper writes no SQL for this database type. */
  static unsupportedDialect(type: string): TypeormAdapterError {
    return new TypeormAdapterError(
      `koperTypeorm cannot write outbox or audit rows on a "${type}" DataSource: Koper writes SQL for PostgreSQL, MySQL/MariaDB and SQLite.`,
      { details: { type } },
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "an object";
}
