/** What adapters need to patch their ORM's classes, kept once here. */

/**
 * The prototype on `object`'s chain that defines `name` itself (the class an adapter patches, once
 * per copy of the ORM), or undefined when no prototype does. The object's own properties don't count.
 */
export function methodOwner(object: object, name: string): Record<string | symbol, unknown> | undefined {
  for (let proto: object | null = Object.getPrototypeOf(object); proto; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, name)) return proto as Record<string | symbol, unknown>;
  }
  return undefined;
}
