/** Prints the demo's steps and, under each, what the listeners received, in order. */
export class Story {
  #received = 0;

  /** How many listener calls arrived so far. */
  get received(): number {
    return this.#received;
  }

  /** Listeners call this with what they received. */
  readonly say = (line: string): void => {
    if (!line.startsWith("(")) this.#received++;
    console.log(`   ${line}`);
  };

  /**
   * Runs one step, then waits until its `expected` listener calls arrived: delivery is
   * asynchronous, and waiting keeps every step's output under its own heading.
   */
  async step(title: string, expected: number, run: () => Promise<unknown>): Promise<void> {
    console.log(`\n▶ ${title}`);
    const target = this.#received + expected;
    await run();
    const deadline = Date.now() + 5_000;
    while (this.#received < target) {
      if (Date.now() > deadline) throw new Error(`step "${title}": expected ${expected} listener call(s), got ${this.#received - target + expected}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Prints the closing line and sets the exit code. */
  end(ok: boolean): void {
    console.log(ok ? "\nDone: every committed write reached its listener; the failure reached onInsertOrder_X." : "\nDone, with unexpected results.");
    process.exitCode = ok ? 0 : 1;
  }
}
