/** The ids a consumer group handled recently, bounded: the oldest are forgotten first. */
export class DedupMemory {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  constructor(capacity = 100_000) {
    this.#capacity = capacity;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string | undefined): void {
    if (id === undefined) return;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) this.#ids.delete(this.#ids.values().next().value!);
  }
}
