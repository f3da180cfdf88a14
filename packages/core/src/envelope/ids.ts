import { v7 } from "uuid";

/** A new time-ordered unique id (UUIDv7): sorts by creation time, the consumers' dedup key. */
export function newId(): string {
  return v7();
}
