import { randomUUID } from "node:crypto";
import type { Koper } from "@koper/core";
import { expect } from "vitest";

const pause = () => new Promise((resolve) => setTimeout(resolve, 3));

/**
 * Three writers each commit 15 rows of entity `Select` (one per transaction, some held open 20 ms so
 * they commit out of seq order: `insertOne` awaits `hold()` before its commit) through `insertOne(id, hold)`, while a reader pages through
 * `changes({ entity, action: "insert", since, cursor, limit: 4 })` until the writers are done and a
 * page comes back empty: it must have seen every written row exactly once.
 */
export async function expectPagingSeesEveryRowOnce(koper: Koper, insertOne: (id: string, hold: () => Promise<void> | undefined) => Promise<unknown>): Promise<void> {
  const written: string[] = [];
  let writing = true;
  const writer = async (n: number) => {
    for (let i = 0; i < 15; i++) {
      const id = randomUUID();
      await insertOne(id, () => ((i + n) % 4 === 0 ? new Promise((resolve) => setTimeout(resolve, 20)) : undefined));
      written.push(id);
    }
  };
  const seen: string[] = [];
  const since = Date.now() - 1000;
  const reader = async () => {
    let cursor: string | undefined;
    for (;;) {
      const done = !writing;
      const page = await koper.audit.changes({ entity: "Select", action: "insert", since, cursor, limit: 4 });
      seen.push(...page.entries.map((e) => String(e.key!.id)));
      cursor = page.cursor;
      if (done && page.entries.length === 0) return;
      if (page.entries.length === 0) await pause();
    }
  };
  const reading = reader();
  try {
    await Promise.all([0, 1, 2].map(writer));
  } finally {
    writing = false;
    await reading;
  }
  expect(seen.length).toBe(new Set(seen).size);
  expect([...seen].sort()).toEqual([...written].sort());
}
