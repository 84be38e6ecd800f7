import type { Inventory, OrderStore, Payments } from "./ports";
import { Order } from "./order";
import { InventoryMissingError, EngineError, PoisonMessageError } from "./errors";

/**
 * Settling an accepted order, safe under redelivery: reserve (confirm the buy's hold), charge, settle in the
 * inventory, then record the final status. The order record is the truth: when it already has a final status
 * (a redelivery, or the sweeper got there first), Redis is made to agree with it and an approved charge is refunded.
 * A crash between any two steps is repaired by the next delivery: each step returns what it did before.
 */
export namespace Fulfilment {
  export interface Deps {
    inventory: Inventory;
    orders: OrderStore;
    payments: Payments;
  }

  /** "WITHDRAWN": the buy call answered 503 and withdrew the admission; the message is dropped and no order exists. */
  export type Result = Order.FinalStatus | "WITHDRAWN";

  export async function process(message: Order.Message, deps: Deps, correlationId: string): Promise<Result> {
    const recorded = await deps.orders.get(message.request_id);
    if (recorded && Order.isFinal(recorded.status)) {
      await deps.inventory.settle(message, recorded.status, "record");
      return recorded.status;
    }

    const { outcome, charged } = await settle(message, deps);
    if (outcome === "WITHDRAWN") return outcome;
    let final = outcome;
    if ((await deps.orders.finalize(message, outcome, correlationId)) === "already_final") {
      final = ((await deps.orders.get(message.request_id))?.status ?? outcome) as Order.FinalStatus;
      if (final !== outcome) await deps.inventory.settle(message, final, "record");
    }
    if (charged && final !== "COMPLETED") await deps.payments.refund(message);
    return final;
  }

  async function settle(message: Order.Message, deps: Deps): Promise<{ outcome: Result; charged: boolean }> {
    let charged = false;
    // Twice at most: a hold released between reserve and settle (an operator, a lost cache) is taken again once.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const reservation = await deps.inventory.reserve(message);
      let outcome: Order.FinalStatus;
      switch (reservation.kind) {
        case "withdrawn":
          return { outcome: "WITHDRAWN", charged };
        case "settled":
          return { outcome: reservation.outcome, charged };
        case "reused":
          throw new PoisonMessageError(`request ${message.request_id} is held for another user or amount`);
        case "unknown_item":
          throw new InventoryMissingError(message.item_id);
        case "sold_out":
          outcome = "FAILED_SOLD_OUT";
          break;
        case "purchase_limit_exceeded":
          outcome = "FAILED_LIMIT";
          break;
        default:
          charged ||= (await deps.payments.charge(message)) === "approved";
          outcome = charged ? "COMPLETED" : "FAILED_PAYMENT";
      }
      const settlement = await deps.inventory.settle(message, outcome, "first");
      if (settlement.kind === "settled") return { outcome: settlement.outcome, charged };
    }
    throw new EngineError("hold released during settlement twice; will retry");
  }
}
