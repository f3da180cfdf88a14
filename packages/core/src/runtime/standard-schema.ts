/**
 * The Standard Schema v1 interface (standardschema.dev) that zod 3.24+, zod 4, valibot, arktype and
 * others implement: a listener's `schema` may come from any of them, whatever version the app uses.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** A Standard Schema validation result: the (possibly transformed) value, or the issues. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardIssue[] };

/** One problem a Standard Schema found, with where in the value it is. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** The issues as `path: message` pairs, for `formatIssues`. */
export function issuePaths(issues: readonly StandardIssue[]): { path: PropertyKey[]; message: string }[] {
  return issues.map((issue) => ({
    message: issue.message,
    path: (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment)),
  }));
}
