import { DataListener, type DataEvent } from "@koper/core";
import { Inject, Injectable, Logger } from "@nestjs/common";
import { Order } from "./order.entity.ts";

/** Stands in for an SMS gateway client. */
@Injectable()
export class SmsService {
  send(to: string, text: string): void {
    console.log(`SMS to ${to}: ${text}`);
  }
}

/** Texts the customer once an order is committed; a refused order is logged. */
@Injectable()
@DataListener({ entity: Order })
export class OrderListener {
  readonly #log = new Logger(OrderListener.name);

  constructor(@Inject(SmsService) private readonly sms: SmsService) {}

  onInsertOrder(order: Order, event: DataEvent<Order>) {
    this.sms.send(order.phone, `order ${order.number} received (placed by ${event.context.actor ?? "nobody"}, request ${event.context.requestId})`);
  }

  onInsertOrder_X(order: Order, event: DataEvent<Order>) {
    this.#log.warn(`order ${order.number} was refused: ${event.error?.code}`);
    console.log(`refused ${order.number}: ${event.error?.code}`);
  }
}
