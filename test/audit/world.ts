import { AuditLog, AuditStore, type AuditLogOptions, ChangeCapture, runWithContext, type ChangeDraft, type DataEvent, type KoperContext, type RedactOptions } from "@koper/core";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { AuditDb } from "./databases.ts";

const run = promisify(execFile);

/** Events through the real capture and audit store onto one database, as an adapter would hand them over. */
export class AuditWorld {
  readonly store: AuditStore;
  readonly log: AuditLog;
  readonly #redact: RedactOptions | undefined;

  constructor(
    readonly db: AuditDb,
    options: { redact?: RedactOptions; references?: AuditLogOptions["references"] } = {},
  ) {
    this.store = new AuditStore({ table: db.table });
    this.log = new AuditLog(db.client, { table: db.table, references: options.references });
    this.#redact = options.redact;
  }

  /**
   * Commits one transaction of `drafts`, its audit rows written inside it; `during` runs before COMMIT.
   * `committedAt` pins the commit time (as two transactions committing in one millisecond would have it).
   */
  async commit(drafts: ChangeDraft[], context: KoperContext = {}, during?: () => Promise<void>, committedAt?: number): Promise<DataEvent[]> {
    const events = await this.events(drafts, context);
    if (committedAt !== undefined) for (const event of events) event.time.committed = committedAt;
    await this.write(events, during);
    return events;
  }

  /** Writes `events` as one committed transaction's audit rows; `during` runs before COMMIT. */
  async write(events: DataEvent[], during?: () => Promise<void>): Promise<void> {
    await this.db.client.transaction(async (tx) => {
      await this.store.write(events, tx);
      await during?.();
    });
    await pause();
  }

  /** Builds the committed events of `drafts` without writing them. */
  async events(drafts: ChangeDraft[], context: KoperContext): Promise<DataEvent[]> {
    const { capture, published } = this.#capture();
    return runWithContext(context, async () => {
      const tx = {};
      capture.begin(tx);
      for (const draft of drafts) await capture.record(tx, draft);
      await capture.commit(tx);
      return published;
    });
  }

  /** A capture of its own per transaction, so concurrent test writers never share what was published. */
  #capture() {
    const published: DataEvent[] = [];
    const sink = { publish: async (events: DataEvent[]) => void published.push(...events), dropped: () => undefined };
    return { capture: new ChangeCapture(sink, { redact: this.#redact }), published };
  }

  /** A transaction whose audit rows are written, then rolled back. */
  async rollBack(drafts: ChangeDraft[]): Promise<void> {
    const events = await this.events(drafts, {});
    const rollback = new Error("rolled back on purpose");
    await expectRejects(this.db.client.transaction(async (tx) => {
      await this.store.write(events, tx);
      throw rollback;
    }), rollback);
  }

  /** A refused write: its failure event, written after the rollback. */
  async fail(draft: ChangeDraft, error: unknown, context: KoperContext = {}): Promise<DataEvent[]> {
    const { capture, published: events } = this.#capture();
    await runWithContext(context, () => capture.fail(undefined, draft, error));
    await this.store.writeFailed(events, this.db.client);
    await pause();
    return events;
  }

  /** The audit table as the database's own dump tool writes it (pg_dump, mysqldump, sqlite3 .dump). */
  async toolDump(): Promise<string> {
    const [command, ...args] = this.db.dump;
    const { stdout } = await run(command!, args, { maxBuffer: 64 * 1024 * 1024 });
    if (!stdout.includes("koper_audit")) throw new Error(`${command} dumped no audit table:\n${stdout.slice(0, 500)}`);
    return stdout;
  }

  /** Every stored column of every audit row, as one text (what a dump of the table shows). */
  async dump(): Promise<string> {
    return JSON.stringify(await this.db.client.query(`SELECT * FROM ${this.db.table}`), (_k, v) => (typeof v === "bigint" ? String(v) : v));
  }
}

async function expectRejects(promise: Promise<unknown>, expected: unknown): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (error === expected) return;
    throw error;
  }
  throw new Error("expected the transaction to reject");
}

/** Lets the clock pass a millisecond, so versions have distinct commit times for stateAt. */
export const pause = () => new Promise((resolve) => setTimeout(resolve, 3));

/** A Customer draft. */
export function customer(action: ChangeDraft["action"], id: string, data: Record<string, unknown> | null, extra: Partial<ChangeDraft> = {}): ChangeDraft {
  return { entity: "Customer", action, key: { id }, data, source: { orm: "test", table: "customer" }, ...extra };
}
