import { KoperError, type KoperErrorOptions } from "@koper/core";

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

  /** `entities` or `exclude` names an entity the DataSource does not have. */
  static unknownEntity(name: string, known: string[]): TypeormAdapterError {
    return new TypeormAdapterError(
      `koperTypeorm option names entity "${name}", which this DataSource does not know. ` +
        `Known entities: ${known.join(", ") || "(none)"}. Fix the name or pass the entity class.`,
      { details: { entity: name } },
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "an object";
}
