import type { Inventory, OrderStore, Payments, Settlement } from "./ports";
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

  /** The status, and the item's stock after this settlement when the inventory said (InventoryRemaining). */
  export interface Processed {
    status: Result;
    stockLeft?: number;
  }

  /**
   * @param prefetched the order record as read for the whole batch (OrderStore.getMany), so that a batch costs one
   * read and its Redis calls leave together (the client pipelines calls made in the same tick); without it, read here.
   */
  export async function process(
    message: Order.Message,
    deps: Deps,
    correlationId: string,
    prefetched?: { record: Order.Record | undefined },
  ): Promise<Processed> {
    const recorded = prefetched ? prefetched.record : await deps.orders.get(message.request_id);
    if (recorded && Order.isFinal(recorded.status)) {
      const settlement = await deps.inventory.settle(message, recorded.status, "record");
      return { status: recorded.status, stockLeft: stockOf(settlement) };
    }

    const { outcome, charged, stockLeft } = await settle(message, deps);
    if (outcome === "WITHDRAWN") return { status: outcome };
    let final = outcome;
    if ((await deps.orders.finalize(message, outcome, correlationId)) === "already_final") {
      final = ((await deps.orders.get(message.request_id))?.status ?? outcome) as Order.FinalStatus;
      if (final !== outcome) await deps.inventory.settle(message, final, "record");
    }
    if (charged && final !== "COMPLETED") await deps.payments.refund(message);
    return { status: final, stockLeft };
  }

  const stockOf = (settlement: Settlement) => (settlement.kind === "settled" ? settlement.stockLeft : undefined);

  async function settle(message: Order.Message, deps: Deps): Promise<{ outcome: Result; charged: boolean; stockLeft?: number }> {
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
        case "rate_limited":
        case "not_started":
        case "ended":
          throw new EngineError(`the door's answer ${reservation.kind} at the processor`); // the door alone rate-limits and checks windows
        default:
          charged ||= (await deps.payments.charge(message)) === "approved";
          outcome = charged ? "COMPLETED" : "FAILED_PAYMENT";
      }
      const settlement = await deps.inventory.settle(message, outcome, "first");
      if (settlement.kind === "settled") return { outcome: settlement.outcome, charged, stockLeft: settlement.stockLeft };
    }
    throw new EngineError("hold released during settlement twice; will retry");
  }
}
