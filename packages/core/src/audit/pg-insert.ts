/**
 * PostgreSQL's multi-row audit INSERT: the rows of one statement as one parameter per column, unnested.
 * At most 7 parameters for any row count, where a VALUES list with 7 parameters a row makes the server
 * parse and plan 700 of them for 100 rows.
 *
 * A column goes as ONE text parameter, its values joined with U+001E and split by the server
 * (`string_to_array`), rather than as a JS array: `pg` serialises an array element by element,
 * quoting and escaping each (the JSON entries are full of quotes), which was most of this process's
 * CPU for the insert. A column whose values cannot be joined losslessly goes as an array as before:
 * one with a NULL, a value containing U+001E, or a single empty string (`string_to_array('', sep)`
 * is an empty array, not `{""}`).
 */

/** The separator the joined values are split at: U+001E, "record separator". */
export const SEPARATOR = "\u001e";

/** The SQL of the separator (an escape-string literal, so no U+001E ever stands in the statement). */
const SEPARATOR_SQL = "E'\\x1E'";

/** A column's element type in the unnest. */
export type PgColumnType = "text" | "int8";

/**
 * One INSERT … SELECT FROM unnest(…) for `rows` (values in `types` order) after `into` (`INSERT INTO t (cols)`).
 * A column with one value in every row (a transaction's id, commit time, actor; often its entity and
 * action) is one scalar parameter instead: 100 copies of it are neither sent nor split.
 */
export function pgUnnestInsert(into: string, types: readonly PgColumnType[], rows: readonly (readonly unknown[])[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const selected: string[] = [];
  const unnested: string[] = [];
  for (let c = 0; c < types.length; c++) {
    const values = new Array<unknown>(rows.length);
    for (let r = 0; r < rows.length; r++) values[r] = rows[r]![c];
    const n = `$${c + 1}`;
    if (constant(values)) {
      params.push(values[0]);
      selected.push(`${n}::${types[c]}`);
      continue;
    }
    selected.push(`c${c}`);
    if (joinable(values)) {
      params.push(values.join(SEPARATOR));
      const split = `string_to_array(${n}::text, ${SEPARATOR_SQL})`;
      unnested.push(types[c] === "text" ? split : `${split}::${types[c]}[]`);
    } else {
      params.push(values);
      unnested.push(`${n}::${types[c]}[]`);
    }
  }
  const from = unnested.length > 0 ? ` FROM unnest(${unnested.join(", ")}) AS u(${selected.filter((s) => !s.startsWith("$")).join(", ")})` : "";
  return { sql: `${into} SELECT ${selected.join(", ")}${from}`, params };
}

/** True when every value is the same primitive (or null). */
function constant(values: readonly unknown[]): boolean {
  const first = values[0];
  if (typeof first === "object" && first !== null) return false;
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return false;
  return true;
}

/** True when joining `values` with SEPARATOR and splitting again gives them back exactly (as text). */
export function joinable(values: readonly unknown[]): boolean {
  if (values.length === 1 && values[0] === "") return false;
  for (const value of values) {
    if (typeof value === "string") {
      if (value.includes(SEPARATOR)) return false;
    } else if (typeof value !== "number" && typeof value !== "bigint") {
      return false; // a NULL, or a Date, Buffer or object: as an array, in pg's own serialisation
    }
  }
  return true;
}
