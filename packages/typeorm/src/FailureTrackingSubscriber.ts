import { AsyncResource } from "node:async_hooks";
import type { Action } from "@koper/core";
import type { AfterQueryEvent, EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { BeforeEvent } from "./before-writes.ts";
import { currentWhere } from "./criteria.ts";
import { driverInfo, matchPending, type PendingWrite } from "./failures.ts";
import { capturedEntity, junctionOf } from "./junctions.ts";
import { KoperSubscriber } from "./KoperSubscriber.ts";
import { insertedRows, paramsOf, parseWrite } from "./statements.ts";

/**
 * The subscriber with failure events on (the default). TypeORM has no failure hook, so each write
 * TypeORM's broadcaster announces before running it is noted (see `before-writes.ts`: not through
 * subscriber before-hooks, whose mere presence makes TypeORM recompute every save's subjects);
 * when a statement then fails, `afterQuery` finds the write it belongs to and publishes it as the
 * failure event.
 */
export class FailureTrackingSubscriber extends KoperSubscriber {
  /** A write TypeORM is about to run: what its failure event would carry. */
  override announced(runner: QueryRunner, metadata: EntityMetadata, event: BeforeEvent, entity: ObjectLiteral | undefined, databaseEntity: ObjectLiteral | undefined): void {
    super.announced(runner, metadata, event, entity, databaseEntity);
    // A criteria write (`update(where, set)`, `delete(where)`, QueryBuilder) carries no row read before.
    const row = event === "Insert" || (event === "Update" ? !!databaseEntity : !!(databaseEntity || entity));
    this.pend(runner, metadata, ACTIONS[event], row ? "row" : "bulk", entity, databaseEntity);
  }

  /** Remembers an announced write, for the statement that may fail. */
  protected pend(runner: QueryRunner, metadata: EntityMetadata, action: Action, kind: PendingWrite["kind"], entity?: ObjectLiteral, databaseEntity?: ObjectLiteral): void {
    const state = this.state(runner);
    if (state.settled) this.reset(state);
    // A failed statement's afterQuery may run in whatever async context the driver's callback
    // has (TypeORM 0.3: the pooled connection's, i.e. another request's): keep the caller's.
    const where = kind === "bulk" ? currentWhere(metadata) : undefined;
    state.pending.push({ metadata, action, kind, entity, databaseEntity, where, inContext: new AsyncResource("koper.write") });
  }

  protected override failed(runner: QueryRunner, event: AfterQueryEvent): Promise<void> {
    return this.#publishFailures(runner, event).catch(this.deps.onError);
  }

  async #publishFailures(runner: QueryRunner, event: AfterQueryEvent): Promise<void> {
    const state = this.runners.get(runner);
    if (!state || state.settled || state.pending.length === 0 || this.deps.suppressed()) return;
    const statement = parseWrite(event.query, paramsOf(event.parameters), null);
    if (!statement) return;
    const writes = matchPending(state.pending, statement);
    state.pending = [];
    // A multi-row INSERT carries the rows of its writes in their order.
    const rows = statement.action === "insert" ? insertedRows(statement) : [];
    const sent = rows.length === writes.length ? rows : [];
    for (const [at, { metadata, action, kind, entity, databaseEntity, where, inContext }] of writes.entries()) {
      const captured = capturedEntity(metadata);
      if (!captured || !this.deps.wanted(captured)) continue;
      const junction = junctionOf(metadata);
      const draft = junction
        ? this.deps.drafts.junction(metadata, junction, action === "delete" ? "delete" : "insert", undefined, sent[at])
        : kind === "bulk"
          ? this.deps.drafts.failedBulk(metadata, action, statement, entity, where)
          : this.deps.drafts.failed(metadata, action, entity, databaseEntity, sent[at]);
      if (!draft) continue;
      await inContext.runInAsyncScope(() => this.deps.capture.fail(runner, draft, event.error, driverInfo(event.error, metadata.tableName)));
    }
  }
}

const ACTIONS: Record<BeforeEvent, Action> = { Insert: "insert", Update: "update", Remove: "delete", SoftRemove: "update", Recover: "update" };