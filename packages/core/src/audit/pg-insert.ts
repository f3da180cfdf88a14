/**
 * PostgreSQL's multi-row audit INSERT: the rows of one statement as one parameter per column, unnested.
 * The statement's text and its parameter count are the same for any row count, where a VALUES list
 * with 7 parameters a row makes the server parse and plan 700 of them for 100 rows.
 *
 * A column goes as ONE text parameter, its values joined with U+001E and split by the server
 * (`string_to_array`), rather than as a JS array: `pg` serialises an array element by element,
 * quoting and escaping each (the JSON entries are full of quotes), which was most of this process's
 * CPU for the insert (100 MikroORM rows: 1.10–1.16 → 0.42–0.48 ms measured). A column whose values
 * cannot be joined losslessly goes as an array as before: one with a NULL, a value containing U+001E,
 * or a single empty string (`string_to_array('', sep)` is an empty array, not `{""}`).
 */

/** The separator the joined values are split at: U+001E, "record separator". */
export const SEPARATOR = "\u001e";

/** The SQL of the separator (an escape-string literal, so no U+001E ever stands in the statement). */
const SEPARATOR_SQL = "E'\\x1E'";

/** A column's element type in the unnest. */
export type PgColumnType = "text" | "int8";

/** One INSERT … SELECT FROM unnest(…) for `rows` (values in `types` order) after `into` (`INSERT INTO t (cols)`). */
export function pgUnnestInsert(into: string, types: readonly PgColumnType[], rows: readonly (readonly unknown[])[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const sources: string[] = [];
  for (let c = 0; c < types.length; c++) {
    const values = new Array<unknown>(rows.length);
    for (let r = 0; r < rows.length; r++) values[r] = rows[r]![c];
    const n = c + 1;
    if (joinable(values)) {
      params.push(values.join(SEPARATOR));
      sources.push(types[c] === "text" ? `string_to_array($${n}::text, ${SEPARATOR_SQL})` : `string_to_array($${n}::text, ${SEPARATOR_SQL})::${types[c]}[]`);
    } else {
      params.push(values);
      sources.push(`$${n}::${types[c]}[]`);
    }
  }
  return { sql: `${into} SELECT * FROM unnest(${sources.join(", ")})`, params };
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
