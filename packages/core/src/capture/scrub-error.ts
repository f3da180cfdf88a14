import type { EventError } from "../envelope/DataEvent.ts";
import { MASK } from "./redact.ts";

// PostgreSQL's NOT NULL / CHECK detail quotes the whole row: on an entity with rules, hide it all.
const FAILING_ROW = /(Failing row contains )\((?:[^()]|\([^()]*\))*\)/g;
// MySQL/MariaDB quote the refused key, truncated when long: a quoted prefix of a secret is one too.
// The value is quoted as it is (a quote inside is not doubled): it ends at the last "' for key".
const DUPLICATE_ENTRY = /(Duplicate entry ')([^\n]*)(' for key\b)/g;
// Messages that quote a value the database failed to convert: it may come from a stored row the write
// never carried (a criteria expression over a redacted column, maybe another entity's), so the capture
// cannot know it. Once any entity has rules the quoted value is hidden whatever it is (MySQL/MariaDB's `Truncated incorrect
// DECIMAL value: '…'` and `Incorrect integer value: '…'`, PostgreSQL's `invalid input syntax for type
// integer: "…"` and `invalid input value for enum mood: "…"`).
// Both quote the value as it is (a quote inside is not doubled): it ends where the message goes on
// (" for column", MySQL's next words) or at the end of the line, not at the first quote.
const CONVERTED_VALUE = [
  /((?:Truncated incorrect|Incorrect) [\w ]+ value: ')([^\n]*?)('(?= for column\b|$))/gm,
  /(invalid input (?:syntax for type|value for enum) [\w." ]+: ")([^\n]*)(")/g,
];

/**
 * The failure with every secret value removed from its message and driver detail: each value of
 * a redacted field the write carried becomes "***" wherever the database quoted it, and so do the
 * parts of a message that quote a row or key in part (`Failing row contains (…)`) or a value it
 * could not convert (which may come from a stored row, not from the write).
 */
export function scrubError(error: EventError, secrets: ReadonlySet<string>, ownRules = true): EventError {
  const out: EventError = { ...error, message: scrub(error.message, secrets, ownRules) };
  if (error.original) {
    out.original = { ...error.original };
    if (error.original.detail !== undefined) out.original.detail = scrub(error.original.detail, secrets, ownRules);
  }
  return out;
}

// `ownRules`: the written entity has rules, so a quoted row of it is hidden whole. A value the
// database could not convert is hidden on every entity once any has rules: a criteria expression
// may read it from another entity's row.
function scrub(text: string, secrets: ReadonlySet<string>, ownRules: boolean): string {
  let out = text;
  // Longest first: a secret containing another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(MASK);
  if (ownRules) out = out.replace(FAILING_ROW, `$1(${MASK})`);
  for (const pattern of CONVERTED_VALUE) out = out.replace(pattern, `$1${MASK}$3`);
  return out.replace(DUPLICATE_ENTRY, (whole, open: string, entry: string, close: string) =>
    entry.length > 0 && [...secrets].some((secret) => secret.startsWith(entry) || entry.includes(secret)) ? open + MASK + close : whole,
  );
}
