import { DataListener, type DataEvent, type Koper, type Row } from "@koper/core";

/** One handler call as the listener saw it. */
export interface Call {
  handler: string;
  /** The entity argument of a row handler; undefined for bulk handlers, which get only the event. */
  entity: Row | undefined;
  event: DataEvent;
}

/** A real data listener of the contract's three entities that records every handler call. */
@DataListener({ entity: ["Order", "Customer", "OrderLine"] })
export class Collector {
  readonly calls: Call[] = [];

  onInsertOrder(order: Row, event: DataEvent) { this.#row("onInsertOrder", order, event); }
  onUpdateOrder(order: Row, event: DataEvent) { this.#row("onUpdateOrder", order, event); }
  onDeleteOrder(order: Row, event: DataEvent) { this.#row("onDeleteOrder", order, event); }
  onInsertOrder_X(order: Row, event: DataEvent) { this.#row("onInsertOrder_X", order, event); }
  onUpdateOrder_X(order: Row, event: DataEvent) { this.#row("onUpdateOrder_X", order, event); }
  onDeleteOrder_X(order: Row, event: DataEvent) { this.#row("onDeleteOrder_X", order, event); }
  onBulkInsertOrder(event: DataEvent) { this.#bulk("onBulkInsertOrder", event); }
  onBulkUpdateOrder(event: DataEvent) { this.#bulk("onBulkUpdateOrder", event); }
  onBulkDeleteOrder(event: DataEvent) { this.#bulk("onBulkDeleteOrder", event); }
  onBulkUpdateOrder_X(event: DataEvent) { this.#bulk("onBulkUpdateOrder_X", event); }
  onBulkDeleteOrder_X(event: DataEvent) { this.#bulk("onBulkDeleteOrder_X", event); }
  onInsertCustomer(customer: Row, event: DataEvent) { this.#row("onInsertCustomer", customer, event); }
  onInsertCustomer_X(customer: Row, event: DataEvent) { this.#row("onInsertCustomer_X", customer, event); }
  onDeleteCustomer(customer: Row, event: DataEvent) { this.#row("onDeleteCustomer", customer, event); }
  onDeleteCustomer_X(customer: Row, event: DataEvent) { this.#row("onDeleteCustomer_X", customer, event); }
  onInsertOrderLine(line: Row, event: DataEvent) { this.#row("onInsertOrderLine", line, event); }
  onInsertOrderLine_X(line: Row, event: DataEvent) { this.#row("onInsertOrderLine_X", line, event); }
  onDeleteOrderLine(line: Row, event: DataEvent) { this.#row("onDeleteOrderLine", line, event); }

  /** The calls of one handler. */
  of(handler: string): Call[] {
    return this.calls.filter((call) => call.handler === handler);
  }

  /** Resolves once `count` calls arrived; rejects after `timeoutMs` saying what did arrive. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<Call[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.calls.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} listener call(s), got ${this.calls.length}: ${this.calls.map((c) => c.handler).join(", ") || "none"}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.calls;
  }

  /**
   * Stops Koper, which delivers everything already published first: after it, `calls` is final,
   * so "nothing else arrived" is a real assertion and not a guess about timing.
   */
  async settle(koper: Koper): Promise<Call[]> {
    await koper.stop();
    return this.calls;
  }

  #row(handler: string, entity: Row, event: DataEvent): void {
    this.calls.push({ handler, entity, event });
  }

  #bulk(handler: string, event: DataEvent): void {
    this.calls.push({ handler, entity: undefined, event });
  }
}
