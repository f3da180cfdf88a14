// Type tests: `npm test` runs tsc over this file first, so each @ts-expect-error must stay an error.
import { describe, expectTypeOf, it } from "vitest";
import { DataListener, Listen, dataListener, listen, type DataEvent, type DataListenerOf, type MessageMeta } from "@koper/core";

interface Order {
  id: number;
  number: string;
}

describe("typed listener API", () => {
  it("types handlers of a function-API data listener and refuses misspelt names", () => {
    dataListener<Order>()({
      entity: "Order",
      onInsertOrder(order, event) {
        expectTypeOf(order).toEqualTypeOf<Order>();
        expectTypeOf(event).toEqualTypeOf<DataEvent<Order>>();
        expectTypeOf(event.action).toEqualTypeOf<"insert" | "update" | "delete">();
      },
      onBulkUpdateOrder(event) {
        expectTypeOf(event.bulk).toEqualTypeOf<DataEvent["bulk"]>();
      },
      onUpdateOrder_X(_order, event) {
        expectTypeOf(event.error).toEqualTypeOf<DataEvent["error"]>();
      },
    });
    dataListener<Order>()({
      entity: "Order",
      // @ts-expect-error misspelt action
      onInsrtOrder() {},
    });
    dataListener<Order>()({
      entity: "Order",
      // @ts-expect-error handler of an entity the listener does not declare
      onInsertCustomer() {},
    });
  });

  it("refuses a misspelt handler on a decorated class when the entity is named", () => {
    @DataListener({ entity: "Order" })
    class Good {
      onInsertOrder(_order: Order, _event: DataEvent<Order>) {}
      onDeleteOrder_X() {}
      notAHandler() {}
    }
    // @ts-expect-error onInsrtOrder is not a handler name of Order
    @DataListener({ entity: "Order" })
    class Typo {
      onInsrtOrder() {}
    }
    class OrderEntity {
      id = 0;
    }
    // @ts-expect-error with the entity class, the action part is still checked
    @DataListener({ entity: OrderEntity })
    class TypoByClass {
      onUpsertOrderEntity() {}
    }
    // @ts-expect-error with T given, a handler's parameters must accept it
    @DataListener<"Order", Order>({ entity: "Order" })
    class Typed {
      onInsertOrder(_order: { sku: string }) {}
    }
    void [Good, Typo, TypoByClass, Typed];
  });

  it("offers DataListenerOf for an `implements` check", () => {
    class Good implements DataListenerOf<Good, "Order", Order> {
      onInsertOrder(_order: Order) {}
    }
    class Bad implements DataListenerOf<Bad, "Order", Order> {
      // @ts-expect-error onInsertOrdr is not a handler of Order
      onInsertOrdr(_order: Order) {}
    }
    void [Good, Bad];
  });

  it("requires onMessage on @Listen classes and types listen()'s payload", () => {
    @Listen({ topic: "t" })
    class Ok {
      onMessage(_msg: string, _meta: MessageMeta) {}
    }
    // @ts-expect-error a @Listen class needs onMessage
    @Listen({ topic: "t" })
    class Missing {
      handle() {}
    }
    listen<{ phone: string }>({
      topic: "t",
      onMessage(payload, meta) {
        expectTypeOf(payload.phone).toBeString();
        expectTypeOf(meta.attempt).toBeNumber();
      },
    });
    void [Ok, Missing];
  });
});
