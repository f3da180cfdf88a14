import type { InsertEvent, ObjectLiteral, RecoverEvent, RemoveEvent, SoftRemoveEvent, UpdateEvent } from "typeorm";
import { KoperSubscriber } from "./KoperSubscriber.ts";

/**
 * The subscriber with failure events on (the default). TypeORM has no failure hook, so the
 * before-hooks note what each operation is about to write; when a statement then fails,
 * `afterQuery` finds the write it belongs to and publishes it as the failure event.
 */
export class FailureTrackingSubscriber extends KoperSubscriber {
  beforeInsert(event: InsertEvent<ObjectLiteral>): void {
    this.pend(event.queryRunner, event.metadata, "insert", "row", event.entity, undefined);
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): void {
    // A criteria update (`update(where, set)`, QueryBuilder) carries no row read before.
    const kind = event.databaseEntity ? "row" : "bulk";
    this.pend(event.queryRunner, event.metadata, "update", kind, event.entity, event.databaseEntity);
  }

  override beforeRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> | void {
    this.pend(event.queryRunner, event.metadata, "delete", rowOrBulk(event), event.entity, event.databaseEntity);
    return super.beforeRemove(event);
  }

  beforeSoftRemove(event: SoftRemoveEvent<ObjectLiteral>): void {
    this.pend(event.queryRunner, event.metadata, "update", rowOrBulk(event), event.entity, event.databaseEntity);
  }

  beforeRecover(event: RecoverEvent<ObjectLiteral>): void {
    this.pend(event.queryRunner, event.metadata, "update", rowOrBulk(event), event.entity, event.databaseEntity);
  }
}

function rowOrBulk(event: RemoveEvent<ObjectLiteral>): "row" | "bulk" {
  return event.databaseEntity || event.entity ? "row" : "bulk";
}
