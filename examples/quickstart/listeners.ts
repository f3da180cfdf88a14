import { DataListener, Listen, type DataEvent } from "@koper/core";
import type { Order } from "./entities.ts";

/** Where the listeners write what they received; main.ts prints it. */
export type Say = (line: string) => void;

/** Gets the plain message sent when a member signs up. */
@Listen({ topic: "koper.memberSignup" })
export class MemberSignupListener {
  constructor(private readonly say: Say) {}

  onMessage(message: string) {
    this.say(`MemberSignupListener.onMessage received: "${message}"`);
  }
}

/** Gets the data events of the Order entity: one method per action, `_X` for failed writes. */
@DataListener<"Order", Order>({ entity: "Order" })
export class OrderListener {
  constructor(private readonly say: Say) {}

  onInsertOrder(order: Order, event: DataEvent<Order>) {
    this.say(`OrderListener.onInsertOrder received order #${order.id} ${order.number}: ${order.qty} × ${order.item}  ${meta(event)}`);
  }

  onUpdateOrder(order: Order, event: DataEvent<Order>) {
    const was = event.before ? `, was ${event.before.qty}` : "";
    this.say(`OrderListener.onUpdateOrder received order #${order.id}: qty is now ${order.qty}${was}; changed: ${event.changes?.join(", ")}  ${meta(event)}`);
  }

  onDeleteOrder(order: Order, event: DataEvent<Order>) {
    this.say(`OrderListener.onDeleteOrder received order #${order.id} ${order.number} (the row as it was before the delete)  ${meta(event)}`);
  }

  onInsertOrder_X(order: Order, event: DataEvent<Order>) {
    this.say(`OrderListener.onInsertOrder_X received a FAILED insert of ${order.number}: ${event.error?.code} (${event.error?.message})`);
  }
}

function meta(event: DataEvent<Order>): string {
  return `[event …${event.id.slice(-6)}: ${event.action}, ${event.outcome}, actor ${event.context.actor ?? "none"}]`;
}
