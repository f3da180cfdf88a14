import type { Row } from "../envelope/DataEvent.ts";

/** What to do with one sensitive field: drop it, replace it with "***", or compute a replacement. */
export type RedactRule = "remove" | "mask" | ((value: unknown) => unknown);

/** Per entity: a list of fields to remove, or a rule per field. */
export type RedactOptions = Record<string, readonly string[] | Record<string, RedactRule>>;

/** The mask written in place of a masked value. */
export const MASK = "***";

/** A function applying the configured rules of one entity to a row; identity when it has none. */
export function redactorFor(options: RedactOptions | undefined, entity: string): (row: Row) => Row {
  const spec = options?.[entity];
  if (!spec) return identity;
  const rules: [string, RedactRule][] = Array.isArray(spec)
    ? spec.map((field) => [field, "remove"])
    : Object.entries(spec as Record<string, RedactRule>);
  return (row) => {
    let out: Row | undefined;
    for (const [field, rule] of rules) {
      if (!Object.hasOwn(row, field)) continue;
      out ??= { ...row };
      if (rule === "remove") delete out[field];
      else out[field] = rule === "mask" ? MASK : rule(row[field]);
    }
    return out ?? row;
  };
}

function identity(row: Row): Row {
  return row;
}
