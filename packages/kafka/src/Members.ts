import type { SubscriptionHandle } from "@koper/core";

/**
 * A transport's open consumer-group members, one per `subscribe`: each is handed out as the handle
 * that closes it, and those still open are closed with the transport.
 */
export class Members<M extends { close(): Promise<void> }> {
  readonly #open = new Set<M>();

  /** How many are open. */
  get size(): number {
    return this.#open.size;
  }

  /** The members open now. */
  list(): M[] {
    return [...this.#open];
  }

  /** Keeps `member` until its handle closes it. */
  handle(member: M): SubscriptionHandle {
    this.#open.add(member);
    return {
      close: async () => {
        this.#open.delete(member);
        await member.close();
      },
    };
  }

  /** Closes every member still open, each finishing and committing its work; one failing stops none of the others. */
  async closeAll(): Promise<void> {
    const members = this.list();
    this.#open.clear();
    await Promise.allSettled(members.map((member) => member.close()));
  }
}
